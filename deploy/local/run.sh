#!/usr/bin/env bash
# `make run`: Kafka, Redis, the four services and the jobs process under one supervisor (honcho), plus the demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export STATE_DIR="${STATE_DIR:-$root/state}"
mkdir -p "$STATE_DIR"

# Secrets live in the state folder (git-ignored) so pseudonyms and logins stay stable between runs.
secrets="$STATE_DIR/secrets.env"
if [ ! -f "$secrets" ]; then
  umask 077
  .venv/bin/python - > "$secrets" <<'PY'
import secrets
print(f"PSEUDONYM_KEY={secrets.token_hex(32)}")
print(f"JWT_SECRET={secrets.token_hex(32)}")
print(f"LOCAL_ADMIN_PASSWORD={secrets.token_urlsafe(12)}")
print(f"LOCAL_INGEST_KEY=local-{secrets.token_hex(12)}")
PY
fi
# Redis's password, the key of webhook secrets and the Kafka principals' passwords: the admin (the brokers' super user,
# who makes topics, users and ACLs), the controllers', one per service and the `upstream` department's (a state folder
# made before them gets them now).
kafka_passwords=(KAFKA_ADMIN_PASSWORD KAFKA_CONTROLLER_PASSWORD KAFKA_INGEST_PASSWORD KAFKA_SCORING_PASSWORD
  KAFKA_ALERTS_PASSWORD KAFKA_API_PASSWORD KAFKA_JOBS_PASSWORD KAFKA_ANALYST_PASSWORD KAFKA_UPSTREAM_PASSWORD)
for name in REDIS_PASSWORD WEBHOOK_SECRET_KEY "${kafka_passwords[@]}"; do
  if ! grep -q "^$name=" "$secrets"; then
    (umask 077; echo "$name=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')" >> "$secrets")
  fi
done
chmod 600 "$secrets"
set -a
# shellcheck disable=SC1090
source "$secrets"
set +a
export PSEUDONYM_KEY="${PSEUDONYM_KEY}" JWT_SECRET="${JWT_SECRET}" REDIS_PASSWORD="${REDIS_PASSWORD}"
export WEBHOOK_SECRET_KEY="${WEBHOOK_SECRET_KEY}"
for name in "${kafka_passwords[@]}"; do export "${name?}"; done
rm -f "$STATE_DIR/kafka-provisioned"  # await.sh makes the Kafka principals and ACLs once per run
if [ -f "$STATE_DIR/kafka/data/meta.properties" ] && [ ! -f "$STATE_DIR/kafka/scram-admin" ]; then
  echo "$STATE_DIR/kafka was made before Kafka authenticated its clients: \`make clean\` (deletes its data) first." >&2
  exit 1
fi
# The admin follows ADMIN_PASSWORD (one given here replaces the stored one: audited); the api prints the login that
# works once it is up (ADMIN_LOGIN_HINT), or how to rotate a password its owner has changed since.
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-$LOCAL_ADMIN_PASSWORD}" ADMIN_LOGIN_HINT=1
export INGEST_API_KEYS="${INGEST_API_KEYS:-$LOCAL_INGEST_KEY=/}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export API_PORT="${API_PORT:-8000}" INGEST_PORT="${INGEST_PORT:-8001}" ALERTS_METRICS_PORT="${ALERTS_METRICS_PORT:-8002}"
export SCORING_METRICS_PORT="${SCORING_METRICS_PORT:-8003}"
export INGEST_URL="http://127.0.0.1:$INGEST_PORT" JOBS_INGEST_KEY="${JOBS_INGEST_KEY:-${INGEST_API_KEYS%%=*}}"
export KAFKA_PORT="${KAFKA_BOOTSTRAP_SERVERS##*:}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
redis_hostport="${REDIS_URL#redis://}"; redis_hostport="${redis_hostport%%/*}"
export REDIS_PORT="${redis_hostport##*:}"
export DEMO="${DEMO:-1}"
export SCORING_DATA_DIR="$STATE_DIR/scoring"
# The demo picks a key of INGEST_API_KEYS that may write its county (or DEMO_INGEST_KEY), and says so when none may.
export DEMO_INGEST_URL="http://127.0.0.1:$INGEST_PORT" DEMO_INGEST_KEY="${DEMO_INGEST_KEY:-}"

for port in "$API_PORT" "$INGEST_PORT" "$ALERTS_METRICS_PORT" "$SCORING_METRICS_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$REDIS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "Port $port is already in use: stop whatever listens there (another make run?) or choose other ports." >&2
    exit 1
  fi
done

processes=(kafka redis ingest scoring alerts api jobs ready)
[ "$DEMO" = 1 ] && processes+=(demo)

cat <<MSG
Shouwang is starting (Ctrl-C stops everything).
  Console / API : http://127.0.0.1:$API_PORT/   (OpenAPI: /docs)
  Login         : admin, password on the api's "Login:" line below once it is up
  Ingest        : http://127.0.0.1:$INGEST_PORT/events   (Authorization: Bearer ${INGEST_API_KEYS%%=*})
  Kafka, Redis  : $KAFKA_BOOTSTRAP_SERVERS, $REDIS_URL (password: REDIS_PASSWORD in $secrets)
  Kafka upstream: SASL_PLAINTEXT, SCRAM-SHA-512, user upstream, password $KAFKA_UPSTREAM_PASSWORD
                  (may only write events.inbound; each service has its own user, passwords in $secrets)
  Demo county   : $([ "$DEMO" = 1 ] && echo "streaming (DEMO=0 starts empty)" || echo "off")
  Probes        : /readyz on each address above and on scoring :$SCORING_METRICS_PORT, alerts :$ALERTS_METRICS_PORT
A line says when all is ready: every service answers /readyz and every consumer group holds its partitions.
MSG
exec .venv/bin/honcho start -f deploy/local/Procfile -d "$root" "${processes[@]}"

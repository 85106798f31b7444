#!/usr/bin/env bash
# Redis from Debian's packages, append-only file on, a memory limit that refuses writes when reached (noeviction),
# and a password when REDIS_PASSWORD is set (given on standard input, never on the command line `ps` shows).
#   redis.sh install          install redis-server with apt-get when missing (as root), else say what to do
#   redis.sh run PORT DIR     run redis-server in the foreground with its data in DIR (REDIS_MAXMEMORY, default 1gb;
#                             REDIS_AOF_REWRITE_MIN_SIZE, default 1gb)
#   redis.sh wait PORT [SECONDS]
set -euo pipefail

install() {
  command -v redis-server > /dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "Installing redis-server from Debian's packages ..." >&2
    (apt-get install -y -qq redis-server > /dev/null 2>&1) || { apt-get update -qq > /dev/null && apt-get install -y -qq redis-server > /dev/null; }
    # The package starts a system-wide server on 6379; the project runs its own.
    (service redis-server stop || systemctl stop redis-server || true) > /dev/null 2>&1
    return 0
  fi
  echo "redis-server is required: install it (Debian/Ubuntu: sudo apt-get install redis-server)." >&2
  exit 1
}

run() {
  local port="$1" dir="$2"
  install
  mkdir -p "$dir"
  local settings="maxmemory ${REDIS_MAXMEMORY:-1gb}"$'\n'"maxmemory-policy noeviction"
  # the append-only file is rewritten once it has doubled and holds 1 GB (not 64 MB): a Redis filling from empty
  # forked at every doubling, four times in a county's registrations
  settings+=$'\n'"auto-aof-rewrite-min-size ${REDIS_AOF_REWRITE_MIN_SIZE:-1gb}"
  if [ -n "${REDIS_PASSWORD:-}" ]; then settings+=$'\n'"requirepass \"$REDIS_PASSWORD\""; fi
  exec redis-server - --port "$port" --bind 127.0.0.1 --dir "$(cd "$dir" && pwd)" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no --protected-mode yes --loglevel warning \
    <<< "$settings"
}

wait_for() {
  local port="$1" seconds="${2:-30}"
  if [ -n "${REDIS_PASSWORD:-}" ]; then export REDISCLI_AUTH="$REDIS_PASSWORD"; fi
  for _ in $(seq 1 $((seconds * 4))); do
    if redis-cli -p "$port" ping 2> /dev/null | grep -q PONG; then return 0; fi
    sleep 0.25
  done
  echo "Redis did not answer on port $port within ${seconds}s" >&2
  exit 1
}

case "${1:-}" in
  install) install ;;
  run) shift; run "$@" ;;
  wait) shift; wait_for "$@" ;;
  *) echo "usage: $0 install | run PORT DIR | wait PORT [SECONDS]" >&2; exit 2 ;;
esac

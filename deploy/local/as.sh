#!/usr/bin/env bash
# `make run`: run a command as one Kafka principal (as.sh NAME COMMAND...): KAFKA_USERNAME=NAME and KAFKA_PASSWORD from
# KAFKA_<NAME>_PASSWORD; every Kafka password is taken out of the command's environment, so a service holds its own only.
set -euo pipefail
name="$1"
shift
variable="KAFKA_${name^^}_PASSWORD"
password="${!variable:?no $variable in the environment (state/secrets.env)}"
for secret in $(compgen -e | grep -E '^KAFKA_[A-Z_]+_PASSWORD$|^KAFKA_UPSTREAMS$' || true); do
  unset "$secret"
done
export KAFKA_USERNAME="$name" KAFKA_PASSWORD="$password"
exec "$@"

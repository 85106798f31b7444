#!/usr/bin/env bash
# Stops with one clear message naming the first missing prerequisite.
set -euo pipefail
python="${PYTHON:-python3}"

if ! command -v java > /dev/null; then
  echo "Java 17 or newer is required (Debian: apt-get install openjdk-17-jre-headless)." >&2; exit 1
fi
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "Java 17 or newer is required; found version ${java_major:-unknown}." >&2; exit 1
fi
if ! command -v mvn > /dev/null; then
  echo "Maven (mvn) is required to fetch Kafka from Maven Central (Debian: apt-get install maven)." >&2; exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; then
  echo "Python 3.11 or newer is required as '$python' (set PYTHON=/path/to/python3.11 to choose another)." >&2; exit 1
fi

#!/usr/bin/env bash
# Makes sure this machine can run the Kafka test broker: Java 17+ and Maven from Debian's
# packages (only when missing), then Kafka's jars resolved once from Maven Central into
# infra/kafka/target/lib. Idempotent; safe to run before every `npm test`.
# Needs root (or sudo) only when a package has to be installed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v="$(java -version 2>&1 | sed -n 1p | sed -E 's/^[^"]*"([^".]*).*$/\1/')"
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 17 ]
}

missing=()
java_ok || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "infra/kafka/install.sh: installing ${missing[*]} needs root; run it as root or install sudo" >&2
      exit 1
    fi
  fi
  echo "infra/kafka/install.sh: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# `sed -n 1p`, not `head -n 1`: head exits after one line, and a command still writing to the
# closed pipe then fails the whole pipeline under pipefail (mvn -v did, about one run in three).
java -version 2>&1 | sed -n 1p
mvn -v 2>/dev/null | sed -n -E "1s/\x1b\[[0-9;]*m//gp"
bash "$HERE/kafka.sh" resolve

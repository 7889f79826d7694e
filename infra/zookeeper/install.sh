#!/usr/bin/env bash
# Makes sure this machine can run the test ZooKeeper: Java 11+ (Kafka's broker wants 17, so
# Debian's 17 is installed) and Maven from Debian's packages (only when missing), then
# ZooKeeper's jars resolved once from Maven Central into infra/zookeeper/target/lib.
# Idempotent; safe to run before every `npm test`. Needs root (or sudo) only to install a package.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v="$(java -version 2>&1 | sed -n 1p | sed -E 's/^[^"]*"([^".]*).*$/\1/')"
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 11 ]
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
      echo "infra/zookeeper/install.sh: installing ${missing[*]} needs root; run it as root or install sudo" >&2
      exit 1
    fi
  fi
  echo "infra/zookeeper/install.sh: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash "$HERE/zookeeper.sh" resolve

#!/usr/bin/env bash
# Makes sure this machine can run the test ZooKeeper: Java 11+ (Kafka's broker wants 17, so
# Debian's 17 is installed) and Maven from Debian's packages (only when missing), then
# ZooKeeper's jars resolved once from Maven Central into infra/zookeeper/target/lib.
# Idempotent; safe to run before every `npm test`. Needs root (or sudo) only to install a package.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SERVICE=zookeeper
MIN_JAVA=11
# shellcheck source=../lib/jvm.sh
source "$HERE/../lib/jvm.sh"
install_java_and_maven

bash "$HERE/zookeeper.sh" resolve

#!/usr/bin/env bash
# Makes sure this machine can run the Kafka test broker: Java 17+ and Maven from Debian's
# packages (only when missing), then Kafka's jars resolved once from Maven Central into
# infra/kafka/target/lib. Idempotent; safe to run before every `npm test`.
# Needs root (or sudo) only when a package has to be installed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SERVICE=kafka
MIN_JAVA=17
# shellcheck source=../lib/jvm.sh
source "$HERE/../lib/jvm.sh"
install_java_and_maven

# `sed -n 1p`, not `head -n 1`: head exits after one line, and a command still writing to the
# closed pipe then fails the whole pipeline under pipefail (mvn -v did, about one run in three).
java -version 2>&1 | sed -n 1p
mvn -v 2>/dev/null | sed -n -E "1s/\x1b\[[0-9;]*m//gp"
bash "$HERE/kafka.sh" resolve

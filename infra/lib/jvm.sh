# Shared by the JVM services the tests start from Maven Central jars (infra/kafka,
# infra/zookeeper). Source it after setting:
#   SERVICE    the name in messages ('kafka', 'zookeeper')
#   MIN_JAVA   the oldest Java major version the service runs on
#   HERE       the service's infra directory (holds pom.xml and README.md)
#   LIB_DIR    where the runtime jars go; STAMP: the file remembering which pom resolved them
#   MARKER_JAR a glob under LIB_DIR that must match after resolving (e.g. 'kafka_2.13-*.jar')

say() { echo "$SERVICE: $*" >&2; }
die() { echo "$SERVICE: error: $*" >&2; exit 1; }

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "no java on PATH (and JAVA_HOME is not set); install Java $MIN_JAVA+, e.g. bash infra/$SERVICE/install.sh"
  fi
}

check_java() {
  local java version major
  java="$(java_bin)"
  # First line looks like: openjdk version "17.0.15" 2025-04-15  (or "1.8.0_392" for Java 8)
  version="$("$java" -version 2>&1 | sed -n 1p | sed -E 's/^[^"]*"([^"]*)".*$/\1/')"
  major="${version%%.*}"
  [ "$major" = "1" ] && major="$(echo "$version" | cut -d. -f2)"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt "$MIN_JAVA" ]; then
    die "$SERVICE needs Java $MIN_JAVA or newer; $java reports '$version'"
  fi
}

# A fingerprint of the pom, so that editing it (e.g. a new version) re-resolves the jars.
pom_digest() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }

resolve_jars() {
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(pom_digest)" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "no mvn on PATH; install Maven 3.6+ (e.g. apt-get install maven) to fetch $SERVICE's jars from Maven Central"
  say "resolving $SERVICE jars from Maven Central into $LIB_DIR (once; later runs reuse them)"
  rm -rf "$LIB_DIR"
  # shellcheck disable=SC2086 # MAVEN_ARGS_EXTRA is a list of words on purpose
  if ! mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" ${MAVEN_ARGS_EXTRA:-} \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB_DIR" >&2; then
    rm -rf "$LIB_DIR"
    die "mvn could not resolve the jars (is Maven Central reachable? see infra/$SERVICE/README.md)"
  fi
  # shellcheck disable=SC2086 # the marker is a glob on purpose
  ls "$LIB_DIR"/$MARKER_JAR >/dev/null 2>&1 || die "mvn finished but $LIB_DIR has no $MARKER_JAR"
  pom_digest > "$STAMP"
}

# What install.sh runs: installs Java (Debian's 17, which every service here runs on) and Maven
# when missing. Needs root (or sudo) only when a package has to be installed.
install_java_and_maven() {
  local missing=() v SUDO=()
  v=""
  if command -v java >/dev/null 2>&1; then v="$(java -version 2>&1 | sed -n 1p | sed -E 's/^[^"]*"([^".]*).*$/\1/')"; fi
  { [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge "$MIN_JAVA" ]; } || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "infra/$SERVICE/install.sh: installing ${missing[*]} needs root; run it as root or install sudo" >&2; exit 1; }
    SUDO=(sudo)
  fi
  echo "infra/$SERVICE/install.sh: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

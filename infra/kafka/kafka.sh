#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1 for
# Sluice's tests and for local development. The jars come from Maven Central through pom.xml
# beside this script; nothing else is downloaded. See README.md.
#
#   kafka.sh start       start a broker (or find the running one); prints 127.0.0.1:PORT on stdout
#   kafka.sh stop        stop the running broker (SIGTERM, then SIGKILL after a grace period)
#   kafka.sh status      say whether a broker runs, and where; exit 1 when none does
#   kafka.sh bootstrap   print the running broker's 127.0.0.1:PORT; exit 1 when none runs
#   kafka.sh sasl-bootstrap
#                        print the SASL listener's 127.0.0.1:PORT (see "SASL and ACLs" in README.md)
#   kafka.sh resolve     only resolve the jars into target/lib (e.g. to warm a cache)
#   kafka.sh tool CLASS [ARGS...]
#                        run a Kafka command-line tool's main class on the same classpath, e.g.
#                        kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka.sh bootstrap)" --list
#
# stdout carries only what a caller needs to read (the address); progress and errors go to stderr.
#
# Environment:
#   SLUICE_KAFKA_DIR        runtime directory (default: <repo>/.sluice/kafka): server.properties,
#                           data/, logs/, broker.pid, bootstrap, lock
#   KAFKA_START_TIMEOUT     seconds to wait for the broker to answer (default 60)
#   KAFKA_STOP_TIMEOUT      seconds between SIGTERM and SIGKILL (default 20)
#   KAFKA_HEAP_OPTS         JVM heap flags for the broker (default: -Xms256m -Xmx512m)
#   JAVA_HOME               use $JAVA_HOME/bin/java instead of java on PATH
#   MAVEN_ARGS_EXTRA        extra arguments for the one-time `mvn dependency:copy-dependencies`
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
RUN_DIR="${SLUICE_KAFKA_DIR:-$REPO_ROOT/.sluice/kafka}"
LIB_DIR="$HERE/target/lib"
STAMP="$LIB_DIR/.resolved"
PID_FILE="$RUN_DIR/broker.pid"
ADDR_FILE="$RUN_DIR/bootstrap"
SASL_ADDR_FILE="$RUN_DIR/bootstrap-sasl"
# Written by the test suite (test/src/kafka-broker.ts) when a test run started the broker, so a
# later run can tell such a broker from one started by hand; a fresh start or a stop drops it.
OWNER_FILE="$RUN_DIR/started-by-tests"
PROPS="$RUN_DIR/server.properties"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-20}"

SERVICE=kafka
MIN_JAVA=17
MARKER_JAR='kafka_2.13-*.jar'
# shellcheck source=../lib/jvm.sh
source "$HERE/../lib/jvm.sh"

# Runs a main class on Kafka's classpath with quiet tool logging. With TOOL_TIMEOUT set, the
# JVM is killed after that many seconds.
run_tool() {
  local prefix=()
  [ -n "${TOOL_TIMEOUT:-}" ] && prefix=(timeout -k 2 "$TOOL_TIMEOUT")
  "${prefix[@]}" "$(java_bin)" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/tools-log4j2.properties" \
    -cp "$LIB_DIR/*" "$@"
}

# True when broker.pid names a live Kafka JVM started from our server.properties.
broker_alive() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: the process must be our broker.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -F "kafka.Kafka $PROPS" >/dev/null || return 1
}

running() { broker_alive && [ -s "$ADDR_FILE" ]; }

clear_state() { rm -f "$PID_FILE" "$ADDR_FILE" "$SASL_ADDR_FILE" "$OWNER_FILE"; }

# Test principals of the SASL listener (loopback only, test data only): `sluice` is a super user,
# `nobody` authenticates but has no ACLs, so everything it asks for is refused.
SASL_SUPER_USER=sluice
SASL_SUPER_PASSWORD=sluice-secret
SASL_DENIED_USER=nobody
SASL_DENIED_PASSWORD=nobody-secret

# Three distinct free TCP ports on 127.0.0.1, chosen by the OS (all held open while choosing).
free_ports() {
  if command -v node >/dev/null 2>&1; then
    node -e '
      const net = require("node:net");
      const servers = [];
      const next = () => {
        if (servers.length === 3) {
          console.log(servers.map((s) => s.address().port).join(" "));
          for (const s of servers) s.close();
          return;
        }
        const s = net.createServer().listen(0, "127.0.0.1", next);
        servers.push(s);
      };
      next();'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
  else
    # Fallback: random high ports that nothing answers on.
    local p ports=()
    while [ "${#ports[@]}" -lt 3 ]; do
      p=$(( 20000 + RANDOM % 30000 ))
      if ! port_open "$p" && [[ " ${ports[*]} " != *" $p "* ]]; then ports+=("$p"); fi
    done
    echo "${ports[*]}"
  fi
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 characters). One that
# begins with '-' would be read as an option by the storage tool, so draw again.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && break
  done
  echo "$id"
}

write_properties() {
  local port="$1" cport="$2" sport="$3"
  cat > "$PROPS" <<EOF
# Written by infra/kafka/kafka.sh; rewritten on every start.
# One JVM that is both the KRaft controller (quorum of one) and the broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER

# SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and ACLs, for the connector's security tests. Clients
# on the PLAINTEXT listener (and the controller) are User:ANONYMOUS, a super user, so they are
# never refused. On the SASL listener, $SASL_SUPER_USER is a super user and $SASL_DENIED_USER has no
# ACLs: with allow.everyone.if.no.acl.found=false every request of its is refused. The SCRAM
# credentials are written into the storage by \`format --add-scram\` (see launch).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_SUPER_USER="$SASL_SUPER_PASSWORD" user_$SASL_DENIED_USER="$SASL_DENIED_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:$SASL_SUPER_USER
allow.everyone.if.no.acl.found=false
log.dirs=$DATA_DIR

# A single node: every internal topic has one replica, and one in-sync replica is enough, so
# consumer groups, idempotent producers and transactions all work.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1

# Tests create their topics explicitly (with the partition count they mean); a typo in a topic
# name must fail rather than silently create a one-partition topic.
auto.create.topics.enable=false
delete.topic.enable=true
# Consumer groups form at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# The broker heartbeats to the controller in its own JVM. On a machine whose cores are busy (a
# test run beside other work) the controller can fall more than Kafka's 9 s behind; it then
# fences its only broker and every partition goes offline until the broker re-registers ("This
# server does not host this topic-partition"). With one node nothing is gained by fencing early.
broker.session.timeout.ms=60000

# Small and quick to clean; test data is thrown away on every start anyway.
log.retention.hours=24
log.segment.bytes=16777216
# Retention is checked every 2 s (Kafka: 5 min), so a test that writes old timestamps to a topic
# without turning retention off loses them at once, not one run in several. Deleted topics'
# files go 1 s after the deletion (Kafka: 1 min), not in the middle of the next benchmark.
log.retention.check.interval.ms=2000
file.delete.delay.ms=1000
num.network.threads=2
num.io.threads=4
EOF
}

print_log_tail() {
  local f
  for f in "$LOG_DIR/stdout.log" "$LOG_DIR/server.log"; do
    if [ -s "$f" ]; then
      echo "----- last lines of $f -----" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

kill_broker() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $(( STOP_TIMEOUT * 10 )) ]; then
      say "broker (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      break
    fi
    sleep 0.1
    waited=$(( waited + 1 ))
  done
}

# Start one broker on fresh ports. Returns 0 when it answers, 2 when it lost a port race (the
# caller retries on new ports), 1 on any other failure.
launch() {
  local port cport sport pid deadline
  read -r port cport sport < <(free_ports)
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  : > "$LOG_DIR/server.log"
  write_properties "$port" "$cport" "$sport"

  local scram=() mechanism
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    scram+=(--add-scram "$mechanism=[name=$SASL_SUPER_USER,password=$SASL_SUPER_PASSWORD]")
    scram+=(--add-scram "$mechanism=[name=$SASL_DENIED_USER,password=$SASL_DENIED_PASSWORD]")
  done
  if ! run_tool kafka.tools.StorageTool format -t "$(new_cluster_id)" -c "$PROPS" "${scram[@]}" > "$LOG_DIR/format.log" 2>&1; then
    cat "$LOG_DIR/format.log" >&2
    die "formatting the broker's storage in $DATA_DIR failed"
  fi

  # setsid: the broker gets its own session, so signals meant for whoever ran `kafka.sh start`
  # (Ctrl-C, a test runner's process group) do not reach it; only `kafka.sh stop` ends it.
  # Its stdio go to files and fd 9 (the start lock) is closed, so callers reading our output
  # are not held open by the broker.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of words on purpose
  setsid "$(java_bin)" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" \
    < /dev/null > "$LOG_DIR/stdout.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" > "$PID_FILE"
  say "broker starting (pid $pid) on 127.0.0.1:$port (SASL on 127.0.0.1:$sport), controller on 127.0.0.1:$cport; logs in $LOG_DIR"

  deadline=$(( SECONDS + START_TIMEOUT ))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      clear_state
      if grep -qi "address already in use" "$LOG_DIR/server.log" "$LOG_DIR/stdout.log" 2>/dev/null; then
        say "port race lost (address already in use); retrying on other ports"
        return 2
      fi
      print_log_tail
      say "the broker exited during startup"
      return 1
    fi
    # Ready = the broker finished starting (log line) and answers a metadata request.
    if grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null && port_open "$port" \
        && TOOL_TIMEOUT=20 run_tool org.apache.kafka.tools.TopicCommand \
             --bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>&1; then
      echo "127.0.0.1:$sport" > "$SASL_ADDR_FILE"
      echo "127.0.0.1:$port" > "$ADDR_FILE"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      print_log_tail
      say "the broker did not answer within ${START_TIMEOUT}s; stopping it"
      kill_broker "$pid"
      clear_state
      return 1
    fi
    sleep 0.5
  done
}

lock() {
  mkdir -p "$RUN_DIR"
  exec 9> "$RUN_DIR/lock"
  if ! flock -w $(( START_TIMEOUT + STOP_TIMEOUT + 120 )) 9; then
    die "another kafka.sh holds $RUN_DIR/lock for too long"
  fi
}

cmd_start() {
  lock
  if running; then
    say "reusing running broker (pid $(cat "$PID_FILE"))"
    cat "$ADDR_FILE"
    return 0
  fi
  if broker_alive; then
    # A broker from an interrupted start: it never answered, so replace it.
    say "stopping a broker left half-started (pid $(cat "$PID_FILE"))"
    kill_broker "$(cat "$PID_FILE")"
  fi
  clear_state
  check_java
  resolve_jars
  local attempt rc
  for attempt in 1 2 3; do
    rc=0
    launch || rc=$?
    if [ "$rc" -eq 0 ]; then
      say "broker ready at $(cat "$ADDR_FILE")"
      cat "$ADDR_FILE"
      return 0
    fi
    [ "$rc" -eq 2 ] || break
  done
  die "could not start the broker (logs in $LOG_DIR)"
}

cmd_stop() {
  lock
  if ! broker_alive; then
    clear_state
    rm -rf "$DATA_DIR"
    say "no broker running; nothing to stop"
    return 0
  fi
  local pid addr
  pid="$(cat "$PID_FILE")"
  addr="$(cat "$ADDR_FILE" 2>/dev/null || echo '?')"
  kill_broker "$pid"
  clear_state
  rm -rf "$DATA_DIR"
  say "stopped broker (pid $pid) at $addr; logs kept in $LOG_DIR"
}

cmd_status() {
  if running; then
    echo "running: pid $(cat "$PID_FILE"), bootstrap $(cat "$ADDR_FILE"), logs $LOG_DIR"
  elif broker_alive; then
    echo "starting: pid $(cat "$PID_FILE") (not answering yet), logs $LOG_DIR"
    return 1
  else
    echo "not running (start one with: npm run kafka:start)"
    return 1
  fi
}

cmd_sasl_bootstrap() {
  if running && [ -s "$SASL_ADDR_FILE" ]; then
    cat "$SASL_ADDR_FILE"
  else
    die "no Kafka broker with a SASL listener running; start one with \`npm run kafka:start\`"
  fi
}

cmd_bootstrap() {
  if running; then
    cat "$ADDR_FILE"
  else
    die "no Kafka broker running; start one with \`npm run kafka:start\` (or bash infra/kafka/kafka.sh start)"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  bootstrap) cmd_bootstrap ;;
  sasl-bootstrap) cmd_sasl_bootstrap ;;
  resolve) check_java; resolve_jars; say "jars in $LIB_DIR" ;;
  tool)
    shift
    [ "$#" -ge 1 ] || die "usage: kafka.sh tool MAIN_CLASS [ARGS...]"
    check_java
    resolve_jars
    run_tool "$@"
    ;;
  *)
    echo "usage: kafka.sh start|stop|status|bootstrap|sasl-bootstrap|resolve|tool MAIN_CLASS [ARGS...]" >&2
    exit 64
    ;;
esac

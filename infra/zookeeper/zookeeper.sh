#!/usr/bin/env bash
# Runs Apache ZooKeeper on 127.0.0.1 for Sluice's tests and for local development: one standalone
# node, or an ensemble of N nodes. The jars come from Maven Central through pom.xml beside this
# script; nothing else is downloaded. See README.md.
#
#   zookeeper.sh start [--nodes N]   start N nodes (default 1), or find the running ones; prints
#                                    the connect string 127.0.0.1:P1,127.0.0.1:P2,... on stdout
#   zookeeper.sh stop                stop every node started here (SIGTERM, then SIGKILL)
#   zookeeper.sh status              each node's mode (standalone, leader, follower, not serving)
#                                    from its `srvr` answer; exit 1 when no node runs
#   zookeeper.sh connect             print the running ensemble's connect string; exit 1 if none
#   zookeeper.sh resolve             only resolve the jars into target/lib (e.g. to warm a cache)
#
# stdout carries only what a caller needs to read; progress and errors go to stderr.
#
# Environment:
#   SLUICE_ZK_DIR         runtime directory (default: <repo>/.sluice/zookeeper): node-I/ (zoo.cfg,
#                         data/, zookeeper.log, stdout.log, pid), connect, lock
#   ZK_START_TIMEOUT      seconds to wait for every node to serve (default 60)
#   ZK_STOP_TIMEOUT       seconds between SIGTERM and SIGKILL (default 10)
#   ZK_HEAP_OPTS          JVM heap flags per node (default: -Xms32m -Xmx256m)
#   JAVA_HOME             use $JAVA_HOME/bin/java instead of java on PATH
#   MAVEN_ARGS_EXTRA      extra arguments for the one-time `mvn dependency:copy-dependencies`
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
RUN_DIR="$(realpath -m "${SLUICE_ZK_DIR:-$REPO_ROOT/.sluice/zookeeper}")"
LIB_DIR="$HERE/target/lib"
STAMP="$LIB_DIR/.resolved"
CONNECT_FILE="$RUN_DIR/connect"
START_TIMEOUT="${ZK_START_TIMEOUT:-60}"
STOP_TIMEOUT="${ZK_STOP_TIMEOUT:-10}"
MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain

SERVICE=zookeeper
MIN_JAVA=11
MARKER_JAR='zookeeper-3*.jar'
# shellcheck source=../lib/jvm.sh
source "$HERE/../lib/jvm.sh"

node_dirs() { find "$RUN_DIR" -maxdepth 1 -type d -name 'node-*' 2>/dev/null | sort -V; }

# True when DIR/pid names a live ZooKeeper JVM started with DIR/zoo.cfg (not a recycled pid).
node_alive() {
  local dir="$1" pid
  [ -f "$dir/pid" ] || return 1
  pid="$(cat "$dir/pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -F "$MAIN_CLASS $dir/zoo.cfg" >/dev/null || return 1
}

any_alive() {
  local dir
  for dir in $(node_dirs); do node_alive "$dir" && return 0; done
  return 1
}

all_alive() {
  local dir n=0
  for dir in $(node_dirs); do node_alive "$dir" || return 1; n=$((n + 1)); done
  [ "$n" -gt 0 ]
}

running() { all_alive && [ -s "$CONNECT_FILE" ]; }

# A four-letter-word command over plain TCP; prints the answer (empty when nothing answers).
four_letter() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" 2>/dev/null || true
}

# COUNT distinct free TCP ports on 127.0.0.1, chosen by the OS (all held open while choosing).
free_ports() {
  local count="$1"
  if command -v node >/dev/null 2>&1; then
    node -e '
      const net = require("node:net");
      const want = Number(process.argv[1]);
      const servers = [];
      const next = () => {
        if (servers.length === want) {
          console.log(servers.map((s) => s.address().port).join(" "));
          for (const s of servers) s.close();
          return;
        }
        const s = net.createServer().listen(0, "127.0.0.1", next);
        servers.push(s);
      };
      next();' "$count"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$count"
  else
    die "node or python3 is needed to pick free ports"
  fi
}

kill_node() {
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$(( SECONDS + STOP_TIMEOUT ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "node pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}

stop_all() {
  local dir
  for dir in $(node_dirs); do
    if node_alive "$dir"; then kill_node "$(cat "$dir/pid")"; fi
    rm -f "$dir/pid"
    rm -rf "$dir/data"
  done
  rm -f "$CONNECT_FILE"
}

# zoo.cfg of node I (1-based) of an ensemble described by the "client quorum election" port
# triples in PORTS. Keep in step with test/src/zookeeper.ts, which writes the same file.
write_config() {
  local dir="$1" i="$2" n="$3"; shift 3
  local ports=("$@") client="${ports[$(( (i - 1) * 3 ))]}" j
  cat > "$dir/zoo.cfg" <<EOF
# Written by infra/zookeeper/zookeeper.sh; rewritten on every start.
# A short tick so that tests can ask for sessions of a second or two (minimum = 2 ticks).
tickTime=500
initLimit=20
syncLimit=10
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=$dir/data
clientPort=$client
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr,stat
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  if [ "$n" -gt 1 ]; then
    for (( j = 1; j <= n; j++ )); do
      echo "server.$j=127.0.0.1:${ports[$(( (j - 1) * 3 + 1 ))]}:${ports[$(( (j - 1) * 3 + 2 ))]}" >> "$dir/zoo.cfg"
    done
  fi
}

# Mode of a node from its `srvr` answer: standalone, leader, follower, observer, "not serving"
# (up but without a quorum) or "down" (no answer).
node_mode() {
  local answer
  answer="$(four_letter "$1" srvr)"
  if [ -z "$answer" ]; then echo down
  elif grep -q '^Mode: ' <<<"$answer"; then sed -n 's/^Mode: //p' <<<"$answer"
  elif grep -q 'not currently serving' <<<"$answer"; then echo "not serving"
  else echo unknown
  fi
}

client_port() { sed -n 's/^clientPort=//p' "$1/zoo.cfg"; }

# Starts N nodes; returns 2 when a port was taken in between (the caller retries on new ports).
launch() {
  local n="$1" ports dir i pid deadline mode connect="" ready
  read -r -a ports <<<"$(free_ports $(( n * 3 )))"
  rm -rf "$RUN_DIR"/node-*
  for (( i = 1; i <= n; i++ )); do
    dir="$RUN_DIR/node-$i"
    mkdir -p "$dir/data"
    echo "$i" > "$dir/data/myid"
    write_config "$dir" "$i" "$n" "${ports[@]}"
    connect="${connect:+$connect,}127.0.0.1:$(client_port "$dir")"
    # setsid: the node gets its own session, so signals meant for whoever ran `start` (Ctrl-C, a
    # test runner's process group) do not reach it; fd 9 (the lock) is not inherited.
    # shellcheck disable=SC2086 # ZK_HEAP_OPTS is a list of words on purpose
    setsid "$(java_bin)" ${ZK_HEAP_OPTS:--Xms32m -Xmx256m} -XX:+UseSerialGC -Djava.awt.headless=true \
      -Dzookeeper.log.dir="$dir" -Dlogback.configurationFile="$HERE/logback.xml" \
      -cp "$LIB_DIR/*" "$MAIN_CLASS" "$dir/zoo.cfg" \
      < /dev/null > "$dir/stdout.log" 2>&1 9>&- &
    echo "$!" > "$dir/pid"
  done
  say "starting $n node(s) on $connect; logs in $RUN_DIR/node-*/zookeeper.log"

  deadline=$(( SECONDS + START_TIMEOUT ))
  while :; do
    ready=0
    for (( i = 1; i <= n; i++ )); do
      dir="$RUN_DIR/node-$i"
      # A node whose main thread died (say, a class missing from the classpath) can linger as a
      # JVM that never serves, so that counts as an exit.
      if ! node_alive "$dir" || grep -q 'Thread\[main,.*\] died' "$dir/zookeeper.log" 2>/dev/null; then
        if grep -qi "address already in use" "$dir/zookeeper.log" "$dir/stdout.log" 2>/dev/null; then
          say "port race lost (address already in use); retrying on other ports"
          stop_all
          return 2
        fi
        tail -n 30 "$dir/zookeeper.log" "$dir/stdout.log" >&2 2>/dev/null || true
        say "node $i exited during startup"
        stop_all
        return 1
      fi
      mode="$(node_mode "$(client_port "$dir")")"
      case "$mode" in standalone|leader|follower) ready=$((ready + 1)) ;; esac
    done
    if [ "$ready" -eq "$n" ]; then
      echo "$connect" > "$CONNECT_FILE"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "the nodes did not all serve within ${START_TIMEOUT}s ($ready of $n did); stopping them"
      stop_all
      return 1
    fi
    sleep 0.3
  done
}

lock() {
  mkdir -p "$RUN_DIR"
  exec 9> "$RUN_DIR/lock"
  flock -w $(( START_TIMEOUT + STOP_TIMEOUT * 5 + 60 )) 9 || die "another zookeeper.sh holds $RUN_DIR/lock for too long"
}

cmd_start() {
  local n=1
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --nodes) [ "$#" -ge 2 ] || die "--nodes needs a number"; n="$2"; shift 2 ;;
      --nodes=*) n="${1#--nodes=}"; shift ;;
      *) die "unknown option '$1' for start (usage: zookeeper.sh start [--nodes N])" ;;
    esac
  done
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 9 ] || die "--nodes must be 1 to 9, not '$n' (an ensemble of 3 or 5 tolerates 1 or 2 failures)"
  lock
  if running; then
    local have
    have="$(node_dirs | wc -l)"
    [ "$have" -eq "$n" ] || die "$have node(s) already run here ($(cat "$CONNECT_FILE")); stop them first to start $n"
    say "reusing running node(s)"
    cat "$CONNECT_FILE"
    return 0
  fi
  if any_alive; then
    say "stopping nodes left from an incomplete start"
  fi
  stop_all
  check_java
  resolve_jars
  local attempt rc
  for attempt in 1 2 3; do
    rc=0
    launch "$n" || rc=$?
    if [ "$rc" -eq 0 ]; then
      say "ready: $(cat "$CONNECT_FILE")"
      cat "$CONNECT_FILE"
      return 0
    fi
    [ "$rc" -eq 2 ] || break
  done
  die "could not start ZooKeeper (logs in $RUN_DIR/node-*)"
}

cmd_stop() {
  lock
  if ! any_alive; then
    stop_all
    say "no ZooKeeper node running; nothing to stop"
    return 0
  fi
  local connect
  connect="$(cat "$CONNECT_FILE" 2>/dev/null || echo '?')"
  stop_all
  say "stopped ZooKeeper at $connect; logs kept in $RUN_DIR/node-*"
}

cmd_status() {
  local dir i port found=0
  for dir in $(node_dirs); do
    i="${dir##*/node-}"
    port="$(client_port "$dir" 2>/dev/null || true)"
    if node_alive "$dir"; then
      found=1
      echo "node $i: pid $(cat "$dir/pid"), 127.0.0.1:$port, mode: $(node_mode "$port")"
    elif [ -f "$dir/pid" ]; then
      echo "node $i: 127.0.0.1:$port, not running"
    fi
  done
  if [ "$found" -eq 0 ]; then
    echo "not running (start one with: npm run zk:start)"
    return 1
  fi
  [ -s "$CONNECT_FILE" ] && echo "connect string: $(cat "$CONNECT_FILE")"
  return 0
}

cmd_connect() {
  running || die "no ZooKeeper running; start one with \`npm run zk:start\` (or bash infra/zookeeper/zookeeper.sh start)"
  cat "$CONNECT_FILE"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  connect) cmd_connect ;;
  resolve) check_java; resolve_jars; say "jars in $LIB_DIR" ;;
  *)
    echo "usage: zookeeper.sh start [--nodes N]|stop|status|connect|resolve" >&2
    exit 64
    ;;
esac

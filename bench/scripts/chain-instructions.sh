#!/usr/bin/env bash
# Instructions per event of each side of the chain benchmark, counted by valgrind's callgrind
# (insensitive to load on the machine, unlike time). Each side runs twice in a fresh process, with
# RUNS_LO and RUNS_HI runs of EVENTS events; the difference is (RUNS_HI − RUNS_LO) warm runs, so
# Node's start-up, module loading and the JIT's warm-up cancel out. Under valgrind every thread runs
# in turn and some 50 times slower, so V8 compiles optimized code on the main thread
# (--no-concurrent-recompilation): otherwise the runs would spend long stretches in unoptimized
# code waiting for a background compile, and count instructions no real run executes.
#
# usage: bench/scripts/chain-instructions.sh [variant ...]   (from the project root, after npm run build)
#   variant: side[:ablation,…] — sides chain chain-measured fused generate (default: all four),
#   ablations as profile.js --ablate= takes them (bench/src/chain/ablations.ts), e.g. chain:no-counters
#   EVENTS [1000000]  RUNS_LO [1]  RUNS_HI [3]  NODE_FLAGS [--no-concurrent-recompilation]
#   OUT_DIR [a temporary directory, kept]
set -euo pipefail
EVENTS="${EVENTS:-1000000}"
RUNS_LO="${RUNS_LO:-1}"
RUNS_HI="${RUNS_HI:-3}"
NODE_FLAGS="${NODE_FLAGS:---no-concurrent-recompilation}"
OUT_DIR="${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-chain-callgrind.XXXXXX")}"
SIDES="${*:-chain chain-measured fused generate}"
command -v valgrind >/dev/null || { echo "chain-instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
PROFILE="$(dirname "$0")/../dist/chain/profile.js"
[ -f "$PROFILE" ] || { echo "chain-instructions.sh: $PROFILE is missing; run npm run build first" >&2; exit 2; }

total_ir() {
  # callgrind's summary line: "summary: <Ir>"
  sed -n 's/^summary: \([0-9]*\).*/\1/p' "$1"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for variant in $SIDES; do
  side="${variant%%:*}"
  ablate=()
  [ "$side" = "$variant" ] || ablate=(--ablate="${variant#*:}")
  name="${variant//[:,]/_}"
  for runs in "$RUNS_LO" "$RUNS_HI"; do
    valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$OUT_DIR/$name.$runs.out" \
      node $NODE_FLAGS "$PROFILE" "$side" "${ablate[@]}" --events="$EVENTS" --runs="$runs" >"$OUT_DIR/$name.$runs.log" 2>&1
  done
  lo="$(total_ir "$OUT_DIR/$name.$RUNS_LO.out")"
  hi="$(total_ir "$OUT_DIR/$name.$RUNS_HI.out")"
  per_event=$(( (hi - lo) / ((RUNS_HI - RUNS_LO) * EVENTS) ))
  echo "INSTRUCTIONS variant=$variant events=$EVENTS warm_runs=$((RUNS_HI - RUNS_LO)) instructions_per_event=$per_event"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "callgrind files and logs: $OUT_DIR"

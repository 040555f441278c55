#!/usr/bin/env bash
# Re-index after a few changed files, against a full build, on M.
#
#   bench/incremental.sh                 # 3 full builds, 5 rounds of 1 and 10 files
#   BENCH_ROUNDS=15 bench/incremental.sh
#   BIN=/path/to/old/trialsearch bench/incremental.sh   # another build
#
# Generates M (10,000 API JSON studies, examples/gencorpus, seed 42) into a
# scratch copy, builds the index from scratch a few times, then alternately
# gives 1 and 10 files (a seeded random pick) a new title and runs `index`
# again, printing wall time, CPU time (user+sys) and peak RSS of each run
# (GNU time), the medians and the ratios to the full build. Finally checks
# that the updated index answers as a fresh full build does (the benchmark
# queries' JSON, the sorted export, stats).
#
# Needs: cargo, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${BENCH_DIR:-/tmp/trialsearch-bench}
ROUNDS=${BENCH_ROUNDS:-5}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

cargo build --release --quiet --bin trialsearch --example gencorpus
BIN=${BIN:-$TARGET/release/trialsearch}
GEN=$TARGET/release/examples/gencorpus

M=$WORK/incr-m
if [ ! -d "$M" ]; then
  "$GEN" --size M --out "$M.tmp" >/dev/null
  mv "$M.tmp" "$M"
fi
IX=$WORK/incr-index
FRESH=$WORK/incr-fresh

# One run: "wall cpu rss_mb".
measure() {
  /usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1 |
    awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 / 1024 }'
}

# Give N files (picked with seed S) a new title.
edit() {
  local n=$1 seed=$2
  # (awk, not head: head would end the pipe early, which pipefail reports)
  ls "$M" | awk -v s="$seed" 'BEGIN { srand(s) } { print rand() "\t" $0 }' |
    sort | awk -v n="$n" 'NR <= n' | cut -f2 | while read -r f; do
      sed -i "0,/\"briefTitle\": \"/s//\"briefTitle\": \"Edited $seed /" "$M/$f"
    done
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$WORK/incr-full" ; : > "$WORK/incr-1" ; : > "$WORK/incr-10"
for r in 1 2 3; do
  rm -rf "$IX"
  m=$(measure "$BIN" --index "$IX" index --quiet "$M")
  echo "full build:        $m (wall s, cpu s, peak MB)"
  echo "$m" >> "$WORK/incr-full"
done
for r in $(seq 1 "$ROUNDS"); do
  edit 1 "$RANDOM$r"
  m=$(measure "$BIN" --index "$IX" index --quiet "$M")
  echo "1 changed file:    $m"
  echo "$m" >> "$WORK/incr-1"
  edit 10 "$RANDOM$r"
  m=$(measure "$BIN" --index "$IX" index --quiet "$M")
  echo "10 changed files:  $m"
  echo "$m" >> "$WORK/incr-10"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
full=$(cut -d' ' -f1 "$WORK/incr-full" | median)
full_cpu=$(cut -d' ' -f2 "$WORK/incr-full" | median)
for k in 1 10; do
  w=$(cut -d' ' -f1 "$WORK/incr-$k" | median)
  c=$(cut -d' ' -f2 "$WORK/incr-$k" | median)
  awk -v k="$k" -v w="$w" -v c="$c" -v f="$full" -v fc="$full_cpu" 'BEGIN {
    printf "%2s file(s): median %.2f s wall (%.1f%% of the full build'"'"'s %.2f s), %.2f s cpu (%.1f%% of %.2f s)\n",
      k, w, 100 * w / f, f, c, 100 * c / fc, fc }'
done

# The updated index must answer as a fresh full build does.
rm -rf "$FRESH"
"$BIN" --index "$FRESH" index --quiet "$M" >/dev/null
same=1
while read -r q; do
  case "$q" in '' | '#'*) continue ;; esac
  cmp -s <("$BIN" --index "$IX" query "$q" --json --limit 20 --explain) \
    <("$BIN" --index "$FRESH" query "$q" --json --limit 20 --explain) || { same=0; echo "differs: $q"; }
done < bench/queries.txt
cmp -s <("$BIN" --index "$IX" export --format ndjson | sort) \
  <("$BIN" --index "$FRESH" export --format ndjson | sort) || { same=0; echo "export differs"; }
cmp -s <("$BIN" --index "$IX" stats --json | grep -v '"index"') \
  <("$BIN" --index "$FRESH" stats --json | grep -v '"index"') || { same=0; echo "stats differ"; }
[ "$same" = 1 ] && echo "updated index answers as a full build: yes" || { echo "updated index answers as a full build: NO"; exit 1; }

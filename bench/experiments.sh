#!/usr/bin/env bash
# The tuning experiments behind BENCHMARKS.md: one corpus (M by default),
# one knob at a time, through the environment knobs of `trialsearch index`
# (TRIALSEARCH_WRITER_THREADS, _WRITER_MB, _DOCSTORE, _DOCSTORE_BLOCK,
# _NO_FINAL_MERGE). For each setting: build wall time and peak RSS, index
# size (without the record cache) and in-process query p50 (querybench).
#
#   bench/experiments.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
WORK=${BENCH_DIR:-/tmp/trialsearch-bench}
corpus=${1:-$WORK/corpus-M}
BIN=$TARGET/release/trialsearch
QB=$TARGET/release/examples/querybench
[ -d "$corpus" ] || "$TARGET/release/examples/gencorpus" --size M --out "$corpus" >/dev/null
raw=$(du -sb "$corpus" | cut -f1)
cat "$corpus"/* >/dev/null 2>&1 || true
echo "| setting | build s | peak RSS MB | index/raw | in-process query p50 ms |"
echo "|---|---|---|---|---|"
run() {
  local name=$1; shift
  local idx=$WORK/exp-index
  rm -rf "$idx"
  env "$@" /usr/bin/time -f '%e %M' "$BIN" --index "$idx" index -q --full "$corpus" >/dev/null 2>"$WORK/exp-time.txt"
  read -r secs rss < <(tail -1 "$WORK/exp-time.txt")
  local gen=$idx/$(cat "$idx/CURRENT")
  local size
  size=$(du -sb --exclude=records.zst --exclude=manifest.jsonl.zst "$gen" | cut -f1)
  local p50
  p50=$("$QB" --index "$idx" --runs 20 --file bench/queries.txt --json | python3 -c "import json,sys;print(f\"{json.load(sys.stdin)['p50_ms']:.2f}\")")
  printf '| %s | %.2f | %.0f | %.3f | %s |\n' "$name" "$secs" "$((rss / 1024))" "$(python3 -c "print($size/$raw)")" "$p50"
}
run "default (2 threads, 256 MB, zstd-3 64 KiB, final merge)" X=1
run "writer threads 1" TRIALSEARCH_WRITER_THREADS=1
run "writer threads 4" TRIALSEARCH_WRITER_THREADS=4
run "writer memory 64 MB" TRIALSEARCH_WRITER_MB=64
run "writer memory 1024 MB" TRIALSEARCH_WRITER_MB=1024
run "no final merge" TRIALSEARCH_NO_FINAL_MERGE=1
run "doc store lz4 16 KiB (tantivy default)" TRIALSEARCH_DOCSTORE=lz4 TRIALSEARCH_DOCSTORE_BLOCK=16384
run "doc store zstd-3 16 KiB" TRIALSEARCH_DOCSTORE=zstd:3 TRIALSEARCH_DOCSTORE_BLOCK=16384
run "doc store zstd-3 256 KiB" TRIALSEARCH_DOCSTORE=zstd:3 TRIALSEARCH_DOCSTORE_BLOCK=262144
run "doc store zstd-9 64 KiB" TRIALSEARCH_DOCSTORE=zstd:9
run "doc store none" TRIALSEARCH_DOCSTORE=none

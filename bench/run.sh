#!/usr/bin/env bash
# End-to-end benchmark of trialsearch against `rg -i -l` and SQLite FTS5.
#
#   bench/run.sh            # S and M
#   BENCH_L=1 bench/run.sh  # also L (500,000 studies; BENCH_L_COUNT=100000 for a scaled L)
#   bench/run.sh S M L      # sizes as arguments
#
# Generates the corpora with examples/gencorpus (deterministic), indexes them
# with the release binary, times a fixed query list (bench/queries.txt) one
# shot (process start to printed top 10 with snippets and facets, warm cache,
# hyperfine medians) and in process (examples/querybench), runs the same
# words through `rg -i -l` (files containing every word) and SQLite FTS5
# (porter unicode61, bm25 rank, snippet(), status counts) over the same
# studies, and prints one table. BASE_BIN=/path/to/old/trialsearch adds a
# row per size for another build, measured in the same run.
#
# Needs: cargo, hyperfine, ripgrep, sqlite3, python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${BENCH_DIR:-/tmp/trialsearch-bench}
RUNS=${BENCH_RUNS:-20}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
  sizes=(S M)
  [ "${BENCH_L:-0}" = 1 ] && sizes+=(L)
fi

# The binary people run (scripts/build-release.sh: LTO, static on
# Linux/glibc); the examples (generator, in-process timing) as everyday
# release builds. BIN=/path/to/trialsearch measures another build instead.
cargo build --release --quiet --example gencorpus --example querybench
BIN=${BIN:-$(scripts/build-release.sh --quiet)}
QB=$TARGET/release/examples/querybench
GEN=$TARGET/release/examples/gencorpus
mapfile -t QUERIES < <(grep -v '^#' bench/queries.txt | grep -v '^ *$')

# python helpers: percentiles of hyperfine exports, FTS5 loading and querying.
PY=$WORK/helpers.py
cat > "$PY" <<'PYEOF'
import json, sqlite3, sys, statistics
cmd = sys.argv[1]
if cmd == "hf":  # hyperfine json files -> "p50 p99" in ms over all runs, median of medians
    times, meds = [], []
    for f in sys.argv[2:]:
        for r in json.load(open(f))["results"]:
            times += r["times"]; meds.append(r["median"])
    times.sort()
    p99 = times[min(len(times) - 1, round((len(times) - 1) * 0.99))]
    print(f"{statistics.median(meds)*1e3:.2f} {p99*1e3:.2f}")
elif cmd == "fts-load":  # ndjson export of trialsearch -> FTS5 table
    db = sqlite3.connect(sys.argv[2])
    db.execute("DROP TABLE IF EXISTS t")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, status UNINDEXED, phase UNINDEXED, "
               "title, conditions, interventions, summary, description, eligibility, sponsor, locations, "
               "tokenize='porter unicode61')")
    rows = []
    for line in sys.stdin:
        s = json.loads(line)
        j = lambda v: " ; ".join(x for x in v if x)
        rows.append((s["id"], s.get("status") or "", j(s.get("phases") or []),
                     j([s.get("title"), s.get("official_title"), s.get("acronym")]),
                     j((s.get("conditions") or []) + (s.get("keywords") or [])),
                     j([i.get("name") for i in s.get("interventions") or []]),
                     s.get("summary") or "", s.get("description") or "",
                     "\n".join((s.get("inclusion_criteria") or []) + (s.get("exclusion_criteria") or [])),
                     j([s.get("sponsor")] + (s.get("collaborators") or [])),
                     j([", ".join(x for x in (l.get("facility"), l.get("city"), l.get("country")) if x)
                        for l in s.get("locations") or []])))
        if len(rows) >= 5000:
            db.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows); rows = []
    db.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.commit()
    db.execute("INSERT INTO t(t) VALUES('optimize')"); db.commit()
elif cmd == "fts-sql":  # query words -> SQL: top 10 by bm25 with a snippet, status and phase counts
    q = " ".join('"%s"' % w.replace('"', '') for w in sys.argv[2].split())
    print(f"SELECT id, title, snippet(t, -1, '<mark>', '</mark>', '…', 24) FROM t WHERE t MATCH '{q}' ORDER BY rank LIMIT 10;"
          f"SELECT status, count(*) FROM t WHERE t MATCH '{q}' GROUP BY status;"
          f"SELECT phase, count(*) FROM t WHERE t MATCH '{q}' GROUP BY phase;")
PYEOF

rss_kb() { grep 'Maximum resident' "$1" | awk '{print $NF}'; }
wall_s() { grep 'Elapsed (wall' "$1" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }

ROWS=()
for size in "${sizes[@]}"; do
  S=$(echo "$size" | tr a-z A-Z)
  corpus=$WORK/corpus-$S
  if [ "$S" = L ] && [ -n "${BENCH_L_COUNT:-}" ]; then
    corpus=$WORK/corpus-L$BENCH_L_COUNT
  fi
  if [ ! -d "$corpus" ]; then
    if [ "$S" = L ] && [ -n "${BENCH_L_COUNT:-}" ]; then
      "$GEN" --count "$BENCH_L_COUNT" --format json --out "$corpus" >/dev/null
    else
      "$GEN" --size "$S" --out "$corpus" >/dev/null
    fi
  fi
  raw=$(du -sb "$corpus" | cut -f1)
  nfiles=$(find "$corpus" -type f | wc -l)
  for which in new base; do
    if [ $which = new ]; then bin=$BIN; else bin=${BASE_BIN:-}; [ -z "$bin" ] && continue; fi
    idx=$WORK/index-$S-$which
    rm -rf "$idx"
    cat "$corpus"/* >/dev/null 2>&1 || true   # warm cache for the build too
    /usr/bin/time -v "$bin" --index "$idx" index -q --json "$corpus" >"$WORK/index.json" 2>"$WORK/time.txt"
    secs=$(wall_s "$WORK/time.txt"); rss=$(rss_kb "$WORK/time.txt")
    trials=$(python3 -c "import json;print(json.load(open('$WORK/index.json'))['trials'])")
    gen=$idx/$(cat "$idx/CURRENT")
    ixsize=$(du -sb --exclude=records.zst --exclude=manifest.jsonl.zst "$gen" | cut -f1)
    cachesize=$( (du -cb "$gen/records.zst" "$gen/manifest.jsonl.zst" 2>/dev/null || echo 0) | tail -1 | cut -f1)
    # Re-index, unchanged.
    /usr/bin/time -v "$bin" --index "$idx" index -q "$corpus" >/dev/null 2>"$WORK/time2.txt"
    resecs=$(wall_s "$WORK/time2.txt")
    # One-shot queries.
    hfs=()
    for i in "${!QUERIES[@]}"; do
      q=${QUERIES[$i]}
      hyperfine -N --warmup 3 --runs "$RUNS" -i --export-json "$WORK/hf-$which-$i.json" \
        "$bin --index $idx --color never query '$q'" >/dev/null 2>&1
      hfs+=("$WORK/hf-$which-$i.json")
    done
    read -r q50 q99 < <(python3 "$PY" hf "${hfs[@]}")
    /usr/bin/time -v "$bin" --index "$idx" --color never query "${QUERIES[0]}" >/dev/null 2>"$WORK/time3.txt"
    qrss=$(rss_kb "$WORK/time3.txt")
    inproc="-"
    if [ $which = new ]; then
      inproc=$("$QB" --index "$idx" --runs 50 --file bench/queries.txt --json |
        python3 -c "import json,sys;v=json.load(sys.stdin);print(f\"{v['p50_ms']:.2f}/{v['p99_ms']:.2f}\")")
    fi
    rg50=- fts50=- rgx=- ftsx=- ftsq=- ftsload=-
    if [ $which = new ]; then
      # rg: the files containing every word of the query, case-insensitive.
      hfs=()
      for i in "${!QUERIES[@]}"; do
        read -r -a words <<<"${QUERIES[$i]}"
        cmd="rg -i -l -F -e '${words[0]}' $corpus"
        for w in "${words[@]:1}"; do cmd="$cmd | xargs -r rg -i -l -F -e '$w'"; done
        hyperfine --warmup 2 --runs $(( RUNS < 10 ? RUNS : 10 )) -i --export-json "$WORK/rg-$i.json" "$cmd" >/dev/null 2>&1
        hfs+=("$WORK/rg-$i.json")
      done
      read -r rg50 _ < <(python3 "$PY" hf "${hfs[@]}")
      # FTS5 over the same studies (trialsearch's normalized records).
      db=$WORK/fts-$S.db
      t0=$(date +%s.%N)
      "$bin" --index "$idx" export --format ndjson | python3 "$PY" fts-load "$db"
      ftsload=$(python3 -c "print(f'{$(date +%s.%N)-$t0:.1f}')")
      hfs=()
      for i in "${!QUERIES[@]}"; do
        python3 "$PY" fts-sql "${QUERIES[$i]}" >"$WORK/fts-$i.sql"
        hyperfine -N --warmup 3 --runs "$RUNS" -i --export-json "$WORK/fts-$i.json" \
          "sqlite3 -init $WORK/fts-$i.sql $db .quit" >/dev/null 2>&1
        hfs+=("$WORK/fts-$i.json")
      done
      read -r fts50 _ < <(python3 "$PY" hf "${hfs[@]}")
      rgx=$(python3 -c "print(f'{$rg50/$q50:.0f}x')")
      ftsx=$(python3 -c "print(f'{$fts50/$q50:.2f}x')")
    fi
    ROWS+=("$(python3 - "$S" "$which" "$trials" "$raw" "$secs" "$rss" "$ixsize" "$cachesize" "$resecs" "$q50" "$q99" "$qrss" "$inproc" "$rg50" "$rgx" "$fts50" "$ftsx" "$ftsload" "$nfiles" <<'PYEOF'
import sys
S, which, trials, raw, secs, rss, ix, cache, resecs, q50, q99, qrss, inproc, rg, rgx, fts, ftsx, ftsload, nfiles = sys.argv[1:]
raw, secs, trials = int(raw), float(secs), int(trials)
print(f"| {S} | {which} | {trials:,} / {int(nfiles):,} | {raw/1e6:.0f} | {secs:.2f} | {trials/secs:,.0f} | {raw/1e6/secs:.1f} | "
      f"{int(rss)/1024:.0f} | {int(ix)/raw:.2f} (+{int(cache)/raw:.2f}) | {float(resecs):.2f} | {q50} / {q99} | {int(qrss)/1024:.0f} | {inproc} | "
      f"{rg} ({rgx}) | {fts} ({ftsx}) |")
PYEOF
)")
  done
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -h | awk '/Mem:/{print $2}') RAM; $(date -u +%F)"
echo
echo "| size | build | trials / files | raw MB | index s | docs/s | MB/s | index peak RSS MB | index/raw (+cache) | re-index unchanged s | one-shot query p50 / p99 ms | query RSS MB | in-process p50/p99 ms | rg -i -l p50 ms (ratio) | FTS5 one-shot p50 ms (ratio) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"

#!/usr/bin/env python3
"""Build the judging pools for the relevance set.

    python3 pool.py                 # write pools.tsv: need, NCT, strategies that found it
    python3 pool.py --show NEED     # print each pooled record of NEED compactly, for reading
    python3 pool.py --queries       # write ../queries.tsv and ../categories.tsv from specs.py

Strategies (see specs.py): S1 topic regexes (query terms, synonyms, abbreviations),
S2 BM25 top-20 of each query text as typed, S3 extra related-wording regexes,
S4 structured field filters (phase / status) for phase- and status-constrained needs.
"""
import os
import re
import sys

from common import BM25, HERE, doc_text, load_rows
from specs import NEEDS

# Structured filters for needs whose query carries a phase/status constraint.
FIELD_FILTERS = {
    "ph3": lambda r: "Phase 3" in r["Phases"],
}


def build_pools(rows):
    bm = BM25(rows)
    pools = {}
    for need, queries, topic, extra in NEEDS:
        found = {}
        for r in rows:
            t = doc_text(r)
            nct = r["NCT Number"]
            if any(re.search(p, t) for p in topic):
                found.setdefault(nct, set()).add("S1")
            if any(re.search(p, t) for p in extra):
                found.setdefault(nct, set()).add("S3")
            if need in FIELD_FILTERS and FIELD_FILTERS[need](r):
                found.setdefault(nct, set()).add("S4")
        for _, q, _, _ in queries:
            for nct in bm.search(q, 20):
                found.setdefault(nct, set()).add("S2")
        pools[need] = found
    return pools


def show(rows, needs, pools):
    by = {r["NCT Number"]: r for r in rows}
    union = {}
    for need in needs.split(","):
        for nct, s in pools[need].items():
            union.setdefault(nct, set()).update(s)
    for nct in sorted(union):
        r = by[nct]
        print(f"{nct} [{','.join(sorted(union[nct]))}] {r['Phases'] or '-'} | {r['Status']}")
        print(f"   T: {r['Title']}")
        print(f"   C: {r['Conditions'][:160]}")
        print(f"   I: {r['Interventions'][:220]}")
        print(f"   O: {r['Outcome Measures'][:160]}")


def main():
    rows = load_rows()
    if "--queries" in sys.argv:
        with open(os.path.join(HERE, "..", "queries.tsv"), "w", encoding="utf-8") as q, \
                open(os.path.join(HERE, "..", "categories.tsv"), "w", encoding="utf-8") as c:
            allq = sorted((qid, text, cat, pair) for _, qs, _, _ in NEEDS for qid, text, cat, pair in qs)
            for qid, text, cat, pair in allq:
                q.write(f"{qid}\t{text}\n")
                c.write(f"{qid}\t{cat}\t{pair}\n")
        return
    pools = build_pools(rows)
    if "--show" in sys.argv:
        show(rows, sys.argv[sys.argv.index("--show") + 1], pools)
        return
    with open(os.path.join(HERE, "pools.tsv"), "w", encoding="utf-8") as f:
        for need, _, _, _ in NEEDS:
            for nct in sorted(pools[need]):
                f.write(f"{need}\t{nct}\t{','.join(sorted(pools[need][nct]))}\n")
    for need, _, _, _ in NEEDS:
        print(need, len(pools[need]))


if __name__ == "__main__":
    main()

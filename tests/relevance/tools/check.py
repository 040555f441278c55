#!/usr/bin/env python3
"""Consistency checks for the relevance set: ids exist, grades valid, every query
judged, paired queries both have relevant trials. Exit status 1 on a problem."""
import os
import sys
from collections import defaultdict

from common import HERE, load_rows

R = os.path.join(HERE, "..")
ids = {r["NCT Number"] for r in load_rows()}
queries = dict(l.rstrip("\n").split("\t") for l in open(os.path.join(R, "queries.tsv"), encoding="utf-8"))
cats = {}
for l in open(os.path.join(R, "categories.tsv"), encoding="utf-8"):
    qid, cat, pair = l.rstrip("\n").split("\t")
    cats[qid] = (cat, pair)
rel = defaultdict(dict)
problems = []
for l in open(os.path.join(R, "qrels.txt"), encoding="utf-8"):
    qid, zero, nct, g = l.split()
    if qid not in queries or zero != "0" or nct not in ids or g not in {"0", "1", "2"}:
        problems.append(l.strip())
    if nct in rel[qid]:
        problems.append("duplicate " + l.strip())
    rel[qid][nct] = int(g)
for qid in queries:
    if not any(g > 0 for g in rel[qid].values()):
        problems.append(f"{qid}: no relevant trial")
    cat, pair = cats[qid]
    if pair and cats.get(pair, ("", ""))[1] != qid:
        problems.append(f"{qid}: pair {pair} does not point back")
print(f"{len(queries)} queries, {sum(len(v) for v in rel.values())} judgments, "
      f"{sum(1 for q in cats.values() if q[0] == 'abbreviation' and q[1])} abbreviation pairs")
for p in problems:
    print("PROBLEM", p)
sys.exit(1 if problems else 0)

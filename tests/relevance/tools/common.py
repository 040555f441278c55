"""Shared helpers for the relevance-set tools (python 3 stdlib only)."""
import csv
import math
import os
import re
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CSV_PATH = os.path.join(HERE, "..", "..", "data", "msc-classic-export-1445.csv")

# Fields that describe what a trial is about; pooling looks only at these.
TEXT_FIELDS = ["Title", "Acronym", "Conditions", "Interventions", "Outcome Measures"]


def load_rows(path=CSV_PATH):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def doc_text(row):
    return " ".join(row.get(k, "") for k in TEXT_FIELDS).lower()


TOKEN = re.compile(r"[a-z0-9]+")


def tokens(s):
    return TOKEN.findall(s.lower())


class BM25:
    """Plain BM25 (k1=1.2, b=0.75) over TEXT_FIELDS; an independent lexical pool."""

    def __init__(self, rows):
        self.ids = [r["NCT Number"] for r in rows]
        self.docs = [Counter(tokens(doc_text(r))) for r in rows]
        self.lens = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lens) / len(self.lens)
        self.df = Counter()
        for d in self.docs:
            self.df.update(d.keys())
        self.n = len(self.docs)

    def search(self, query, k=20):
        q = tokens(query)
        scores = []
        for i, d in enumerate(self.docs):
            s = 0.0
            for t in q:
                tf = d.get(t, 0)
                if not tf:
                    continue
                idf = math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lens[i] / self.avg))
            if s > 0:
                scores.append((s, self.ids[i]))
        scores.sort(reverse=True)
        return [i for _, i in scores[:k]]

#!/usr/bin/env python3
"""Turn the reading notes in judging/ into ../qrels.txt (TREC format: qid 0 docid grade).

The grades were decided by reading each pooled record (title, conditions,
interventions, outcome measures). Two kinds of notes are kept in judging/:

* judgments.txt — need, grade, list of NCT ids, written directly while reading.
* *_attributes.txt — for pools shared by several needs, what the reading found
  about each record (condition, cell source, route); the small functions below
  map those findings to each need's grade, so one reading serves every need.
  Phase and status constraints are checked against the CSV's own columns.

Every record in a need's pool (pools.tsv, from pool.py) that no note grades
above 0 was read and judged not relevant: it is written with grade 0.

Codes used in the attribute files
  oa_attributes.txt    joint: K knee OA, U OA (joint unspecified), H hip OA, A ankle OA,
                       O other-joint OA, D knee without OA (cartilage defect, meniscus, ACL)
                       source: B bone-marrow MSC, BA bone-marrow aspirate/concentrate,
                       A adipose MSC (cultured), S stromal vascular fraction / fat graft,
                       U umbilical cord MSC, W Wharton's jelly MSC, C cord-blood MSC,
                       P placenta MSC, X MSC of unstated source, T MSC-derived product
                       (exosomes, trophic factors, secretome), 0 no cell therapy
                       route: I intra-articular injection, S surgical implantation, - none
  resp_attributes.txt  condition: A ARDS/acute lung injury (not COVID), CA COVID-19 with ARDS,
                       C COVID-19 (pneumonia etc., ARDS not stated), CP post-COVID,
                       L other lung injury, HV healthy volunteers, N other
                       source: as above, plus D dental pulp, O other tissue/iPSC,
                       E extracellular vesicles/exosomes/secretome, E0 EVs in a lab assay only
  crohn_attributes.txt condition: PF perianal Crohn's fistula, CF other Crohn's fistula,
                       F non-Crohn's fistula, CD luminal Crohn's, IBD ulcerative colitis/IBD, N other
  ms_attributes.txt    condition: M multiple sclerosis, NMO neuromyelitis optica, O other
  hf_attributes.txt    topic: H heart failure / cardiomyopathy cell therapy,
                       P related cardiac cell therapy (acute MI, ischemic heart disease), N other
  ph3_attributes.txt   N: pooled record that is not an MSC-based therapy trial
"""
import os
import sys
from collections import defaultdict

from common import HERE, load_rows
from specs import NEEDS

J = os.path.join(HERE, "judging")
OA_JOINTS = {"K", "U", "H", "A", "O"}
ADIPOSE = {"A", "S"}


def read_attrs(name):
    out = {}
    with open(os.path.join(J, name), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                parts = line.split()
                out[parts[0]] = parts[1:]
    return out


def srcset(s):
    return set(s.split(","))


# --- osteoarthritis pool --------------------------------------------------
def koa_bm(joint, src, route):
    s = srcset(src)
    if joint == "N" or s == {"0"}:
        return 0
    if route == "-":
        return 1 if joint in {"K", "U"} and s & {"B", "BA"} else 0
    if joint == "K":
        return 2 if "B" in s else 1
    return 1 if s & {"B", "BA"} else 0


def koa_inj(joint, src, route):
    s = srcset(src)
    if joint == "N" or s == {"0"} or route == "-":
        return 0
    if joint == "K":
        if route == "I":
            return 2 if s - {"T"} else 1
        return 1
    return 1 if route == "I" else 0


def koa_ad(joint, src, route):
    s = srcset(src)
    if joint == "N" or s == {"0"}:
        return 0
    if joint == "K":
        if s & ADIPOSE:
            return 2 if route != "-" else 1
        return 1 if route != "-" else 0
    return 1 if s & ADIPOSE else 0


def oa_ad(joint, src, route):
    s = srcset(src)
    if joint == "N" or s == {"0"}:
        return 0
    if joint in OA_JOINTS:
        if s & ADIPOSE:
            return 2 if route != "-" else 1
        return 1
    return 1 if s & ADIPOSE else 0


# --- ARDS / COVID-19 / EV pool ---------------------------------------------
COVID = {"C", "CA", "CP"}


def ards_uc(cond, src):
    if src == "0":
        return 0
    if cond in {"A", "CA"}:
        return 2 if src == "U" else 1
    if cond in {"C", "CP", "L"}:
        return 1 if src == "U" else 0
    return 0


def covid_uc(cond, src):
    if src == "0":
        return 0
    if cond in COVID:
        return 2 if src == "U" else 1
    if cond in {"A", "L"}:
        return 1 if src == "U" else 0
    return 0


def ev_covid(cond, src):
    if src not in {"E", "E0"}:
        return 0
    if cond in COVID:
        return 2 if src == "E" else 1
    if cond in {"A", "L", "HV"}:
        return 1
    return 0


# --- Crohn's / fistula pool -------------------------------------------------
def crohn_ad(cond, src, status):
    if src == "0":
        return 0
    if cond in {"PF", "CF"}:
        return 2 if src in ADIPOSE else 1
    if cond in {"F", "CD"}:
        return 1 if src in ADIPOSE else 0
    return 0


def crohn_rec(cond, src, status):
    if src == "0" or cond not in {"PF", "CF"}:
        return 0
    return 2 if status == "Recruiting" else 1


# --- multiple sclerosis pool ------------------------------------------------
def ms_bm(cond, src):
    if src == "0":
        return 0
    if cond == "M":
        return 2 if src == "B" else 1
    if cond == "NMO":
        return 1 if src == "B" else 0
    return 0


def ms_any(cond, src):
    if src == "0":
        return 0
    return {"M": 2, "NMO": 1}.get(cond, 0)


def main():
    rows = {r["NCT Number"]: r for r in load_rows()}
    pools = defaultdict(set)
    with open(os.path.join(HERE, "pools.tsv"), encoding="utf-8") as f:
        for line in f:
            need, nct, _ = line.rstrip("\n").split("\t")
            pools[need].add(nct)

    grades = defaultdict(dict)  # need -> nct -> grade

    def put(need, nct, g):
        if nct not in pools[need]:
            sys.exit(f"{need}: {nct} judged but not in the pool")
        grades[need][nct] = g

    with open(os.path.join(J, "judgments.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                need, g, ids = line.rstrip("\n").split("\t")
                for nct in ids.split():
                    put(need, nct, int(g))

    oa = read_attrs("oa_attributes.txt")
    for need, fn in (("koa_bm", koa_bm), ("koa_inj", koa_inj), ("koa_ad", koa_ad), ("oa_ad", oa_ad)):
        for nct, (joint, src, route) in oa.items():
            if nct in pools[need]:
                put(need, nct, fn(joint, src, route))
    resp = read_attrs("resp_attributes.txt")
    for need, fn in (("ards_uc", ards_uc), ("covid_uc", covid_uc), ("ev_covid", ev_covid)):
        for nct, (cond, src) in resp.items():
            if nct in pools[need]:
                put(need, nct, fn(cond, src))
    cr = read_attrs("crohn_attributes.txt")
    for need, fn in (("crohn_ad", crohn_ad), ("crohn_rec", crohn_rec)):
        for nct, (cond, src) in cr.items():
            if nct in pools[need]:
                put(need, nct, fn(cond, src, rows[nct]["Status"]))
    ms = read_attrs("ms_attributes.txt")
    for need, fn in (("ms_bm", ms_bm), ("ms_any", ms_any)):
        for nct, (cond, src) in ms.items():
            if nct in pools[need]:
                put(need, nct, fn(cond, src))
    for nct, (topic,) in read_attrs("hf_attributes.txt").items():
        r = rows[nct]
        both = "Phase 2" in r["Phases"] and r["Status"] == "Completed"
        put("hf_ph2", nct, {"H": 2 if both else 1, "P": 1 if both else 0}.get(topic, 0))
    not_msc = read_attrs("ph3_attributes.txt")
    for nct in pools["ph3"]:
        put("ph3", nct, 0 if nct in not_msc else (2 if "Phase 3" in rows[nct]["Phases"] else 1))

    out = []
    for need, queries, _, _ in NEEDS:
        for qid, _, _, _ in queries:
            for nct in sorted(pools[need]):
                out.append((qid, nct, grades[need].get(nct, 0)))
    out.sort()
    with open(os.path.join(HERE, "..", "qrels.txt"), "w", encoding="utf-8") as f:
        for qid, nct, g in out:
            f.write(f"{qid} 0 {nct} {g}\n")
    print(f"{len(out)} judgments written")


if __name__ == "__main__":
    main()

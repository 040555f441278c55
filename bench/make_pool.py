#!/usr/bin/env python3
"""Build tests/data/bench/pool.json, the seed pool of examples/gencorpus.rs.

The generator must run on a fresh clone, without the real downloads, so this
one-off script harvests a compact sample of *real* field values and the
*empirical* per-study shapes from ClinicalTrials.gov API v2 study records
(public domain) and stores them in the repository.

    python3 bench/make_pool.py /work/shared/data/ctgov-json/*.json

Values (titles, criteria lines, interventions, locations, ...) are sampled
with a fixed seed, so re-running gives the same pool. `profiles` keeps one row
per real study: its status/phase/type/sex/ages/dates/design categories and the
number of conditions, interventions, locations, criteria lines ... and the
length of its summary and description. The generator draws whole rows, so
counts keep their real joint distribution (a 300-site trial also has many
outcomes) and categories stay consistent (no phase on observational studies).
"""
import json
import random
import re
import sys

MAX_LEN = 1200  # one over-long value would dominate a small pool


def load(paths):
    seen = {}
    for p in paths:
        for s in json.load(open(p, encoding="utf-8")):
            seen[s["protocolSection"]["identificationModule"]["nctId"]] = s
    return [seen[k] for k in sorted(seen)]


BULLET = re.compile(r"^\s*(?:[*\-•]|\d{1,2}[.)])\s+")


def criteria_lines(text):
    """Inclusion / exclusion bullet lines of an eligibilityCriteria text."""
    inc, exc, cur = [], [], None
    for line in text.splitlines():
        low = line.strip().lower()
        if low.startswith("inclusion criteria"):
            cur = inc
            continue
        if low.startswith("exclusion criteria"):
            cur = exc
            continue
        if cur is None or not BULLET.match(line):
            continue
        item = BULLET.sub("", line).strip()
        if 3 <= len(item) <= MAX_LEN:
            cur.append(item)
    return inc, exc


def sample(rng, values, n, key=lambda v: v):
    uniq, seen = [], set()
    for v in values:
        k = key(v)
        if k not in seen:
            seen.add(k)
            uniq.append(v)
    rng.shuffle(uniq)
    return uniq[:n]


def main(paths):
    rng = random.Random(20240611)
    studies = load(paths)
    g = {k: [] for k in "brief official acronym orgid sponsor summary desc cond kw interv arm outcome inc exc loc person affil cite cmesh canc cleaf cbranch imesh ianc ileaf ibranch why".split()}
    profiles = []
    for s in studies:
        p = s["protocolSection"]
        d = s.get("derivedSection", {})
        ident, st, des = p["identificationModule"], p["statusModule"], p["designModule"]
        el = p["eligibilityModule"]
        g["brief"].append(ident["briefTitle"])
        if "officialTitle" in ident:
            g["official"].append(ident["officialTitle"])
        if "acronym" in ident:
            g["acronym"].append(ident["acronym"])
        g["orgid"].append(ident["orgStudyIdInfo"]["id"])
        sp = p["sponsorCollaboratorsModule"]
        g["sponsor"].append((sp["leadSponsor"]["name"], sp["leadSponsor"]["class"]))
        for c in sp.get("collaborators", []):
            g["sponsor"].append((c["name"], c["class"]))
        dm = p.get("descriptionModule", {})
        g["summary"] += [x for x in dm.get("briefSummary", "").split("\n\n") if 40 < len(x) <= MAX_LEN]
        g["desc"] += [x for x in dm.get("detailedDescription", "").split("\n\n") if 40 < len(x) <= MAX_LEN]
        cm = p.get("conditionsModule", {})
        g["cond"] += cm.get("conditions", [])
        g["kw"] += cm.get("keywords", [])
        ai = p.get("armsInterventionsModule", {})
        for i in ai.get("interventions", []):
            g["interv"].append((i["type"], i["name"], i.get("description", "")[:MAX_LEN], i.get("otherNames", [])[:3]))
        for a in ai.get("armGroups", []):
            g["arm"].append((a["label"], a.get("type", ""), a.get("description", "")[:MAX_LEN]))
        om = p.get("outcomesModule", {})
        for kind in ("primaryOutcomes", "secondaryOutcomes", "otherOutcomes"):
            for o in om.get(kind, []):
                g["outcome"].append((o["measure"][:MAX_LEN], o.get("description", "")[:MAX_LEN], o.get("timeFrame", "")))
        inc, exc = criteria_lines(el.get("eligibilityCriteria", ""))
        g["inc"] += inc
        g["exc"] += exc
        cl = p.get("contactsLocationsModule", {})
        for l in cl.get("locations", []):
            gp = l.get("geoPoint", {})
            g["loc"].append((l.get("facility", ""), l["city"], l.get("state", ""), l.get("zip", ""), l["country"], gp.get("lat"), gp.get("lon")))
        for o in cl.get("overallOfficials", []):
            g["person"].append(o["name"])
            if "affiliation" in o:
                g["affil"].append(o["affiliation"])
        for c in cl.get("centralContacts", []):
            g["person"].append(c["name"])
        for r in p.get("referencesModule", {}).get("references", []):
            if len(r.get("citation", "")) <= MAX_LEN:
                g["cite"].append((r.get("pmid", ""), r["type"], r["citation"]))
        if "whyStopped" in st:
            g["why"].append(st["whyStopped"])
        for pre, mod in (("c", "conditionBrowseModule"), ("i", "interventionBrowseModule")):
            m = d.get(mod, {})
            g[pre + "mesh"] += [(x["id"], x["term"]) for x in m.get("meshes", [])]
            g[pre + "anc"] += [(x["id"], x["term"]) for x in m.get("ancestors", [])]
            g[pre + "leaf"] += [(x["id"], x["name"], x.get("relevance", "LOW")) for x in m.get("browseLeaves", [])]
            g[pre + "branch"] += [(x["abbrev"], x["name"]) for x in m.get("browseBranches", [])]
        di = des.get("designInfo", {})
        mi = di.get("maskingInfo", {})
        en = des.get("enrollmentInfo", {})
        cbm, ibm = d.get("conditionBrowseModule", {}), d.get("interventionBrowseModule", {})
        date = lambda k: (st.get(k, {}).get("date", ""), st.get(k, {}).get("type", ""))
        profiles.append([
            des["studyType"], "/".join(des.get("phases", [])), st["overallStatus"], st.get("lastKnownStatus", ""),
            el.get("sex", "ALL"), el.get("minimumAge", ""), el.get("maximumAge", ""), "/".join(el.get("stdAges", [])),
            {True: 1, False: 0}.get(el.get("healthyVolunteers"), 2),
            len(cm.get("conditions", [])), len(cm.get("keywords", [])), len(ai.get("armGroups", [])), len(ai.get("interventions", [])),
            len(om.get("primaryOutcomes", [])), len(om.get("secondaryOutcomes", [])), len(om.get("otherOutcomes", [])),
            len(inc), len(exc), len(cl.get("locations", [])), len(p.get("referencesModule", {}).get("references", [])),
            len(cl.get("overallOfficials", [])), len(cl.get("centralContacts", [])), len(sp.get("collaborators", [])),
            len(ident.get("secondaryIdInfos", [])),
            len(dm.get("briefSummary", "")), len(dm.get("detailedDescription", "")), int("acronym" in ident),
            len(cbm.get("meshes", [])), len(cbm.get("ancestors", [])), len(cbm.get("browseLeaves", [])), len(cbm.get("browseBranches", [])),
            len(ibm.get("meshes", [])), len(ibm.get("ancestors", [])), len(ibm.get("browseLeaves", [])), len(ibm.get("browseBranches", [])),
            en.get("count", 0), en.get("type", ""),
            *date("startDateStruct"), *date("primaryCompletionDateStruct"), *date("completionDateStruct"),
            st.get("studyFirstSubmitDate", ""), st.get("lastUpdateSubmitDate", ""), st.get("statusVerifiedDate", ""),
            di.get("allocation", ""), di.get("interventionModel", ""), di.get("primaryPurpose", ""), mi.get("masking", ""),
            di.get("observationalModel", ""), di.get("timePerspective", ""), sp.get("responsibleParty", {}).get("type", ""),
        ])
    fields = ("studyType phases status lastKnownStatus sex minAge maxAge stdAges healthy "
              "nCond nKw nArms nInt nPrim nSec nOther nIncl nExcl nLoc nRefs nOfficials nCentral nCollab nSecIds "
              "lenSummary lenDesc acronym cMesh cAnc cLeaf cBranch iMesh iAnc iLeaf iBranch "
              "enrollment enrollmentType start startType primaryCompletion primaryCompletionType completion completionType "
              "firstSubmit lastUpdate verified allocation interventionModel primaryPurpose masking observationalModel timePerspective responsibleParty").split()
    T = lambda v: v if isinstance(v, str) else json.dumps(v)
    pool = {
        "about": "Real ClinicalTrials.gov API v2 values (US public domain) sampled by bench/make_pool.py for examples/gencorpus.rs",
        "briefTitles": sample(rng, g["brief"], 200),
        "officialTitles": sample(rng, g["official"], 130),
        "acronyms": sample(rng, g["acronym"], 100),
        "orgStudyIds": sample(rng, g["orgid"], 100),
        "sponsors": sample(rng, g["sponsor"], 200, T),
        "summaryParagraphs": sample(rng, g["summary"], 90),
        "descriptionParagraphs": sample(rng, g["desc"], 100),
        "conditions": sample(rng, g["cond"], 300),
        "keywords": sample(rng, g["kw"], 300),
        "interventions": sample(rng, g["interv"], 120, T),
        "armGroups": sample(rng, g["arm"], 80, T),
        "outcomes": sample(rng, g["outcome"], 140, T),
        "inclusion": sample(rng, g["inc"], 200),
        "exclusion": sample(rng, g["exc"], 200),
        "locations": sample(rng, g["loc"], 280, T),
        "people": sample(rng, g["person"], 150),
        "affiliations": sample(rng, g["affil"], 100),
        "citations": sample(rng, g["cite"], 45, T),
        "whyStopped": sample(rng, g["why"], 30),
        "conditionMeshes": sample(rng, g["cmesh"], 250, T),
        "conditionAncestors": sample(rng, g["canc"], 250, T),
        "conditionLeaves": sample(rng, g["cleaf"], 300, T),
        "conditionBranches": sample(rng, g["cbranch"], 60, T),
        "interventionMeshes": sample(rng, g["imesh"], 150, T),
        "interventionAncestors": sample(rng, g["ianc"], 150, T),
        "interventionLeaves": sample(rng, g["ileaf"], 200, T),
        "interventionBranches": sample(rng, g["ibranch"], 40, T),
        "profileFields": fields,
        "profiles": sample(rng, profiles, 240, json.dumps),
    }
    assert all(len(r) == len(fields) for r in pool["profiles"])
    out = "tests/data/bench/pool.json"
    with open(out, "w", encoding="utf-8") as f:
        # One value per line: small diffs when the pool is rebuilt.
        f.write("{\n")
        keys = list(pool)
        for i, k in enumerate(keys):
            v = pool[k]
            f.write(json.dumps(k) + ": ")
            if isinstance(v, list) and v and not isinstance(v[0], str) or k in ("profiles",) or (isinstance(v, list) and len(v) > 10):
                f.write("[\n" + ",\n".join(json.dumps(x, ensure_ascii=False) for x in v) + "\n]")
            else:
                f.write(json.dumps(v, ensure_ascii=False))
            f.write(",\n" if i + 1 < len(keys) else "\n")
        f.write("}\n")
    print(f"{len(studies)} studies -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

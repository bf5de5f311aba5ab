#!/usr/bin/env python3
"""Builds data/traildiscover-abused.tsv from TrailDiscover's catalogue (CC BY 4.0).

TrailDiscover by Adan Alvarez, CC BY 4.0 (see NOTICE): a curated catalogue of CloudTrail events
used in real attacks. We keep only what the detector needs: the action (service:Operation as nhid
normalises it), how many public incident reports cite it, and its ATT&CK tactics.

Usage: scripts/build-traildiscover.py ../shared/datasets/traildiscover/events_catalog.json
"""
import ast
import json
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/traildiscover/events_catalog.json"


def as_list(v):
    """A list field, as JSON list or as the Python-literal text some entries carry."""
    if isinstance(v, list):
        return v
    try:
        out = ast.literal_eval(v or "[]")
        return out if isinstance(out, list) else []
    except (ValueError, SyntaxError):
        return []


rows = []
for e in json.load(open(src)):
    if str(e.get("usedInWild")) != "True":
        continue
    service = e["eventSource"].split(".amazonaws.com")[0]
    incidents = len(as_list(e.get("incidents")))
    tactics = as_list(e.get("mitreAttackTactics"))
    tactic = ",".join(t.split(" - ")[0] for t in tactics)
    rows.append((f"{service}:{e['eventName']}", max(incidents, 1), tactic))
rows.sort()
with open("data/traildiscover-abused.tsv", "w") as f:
    f.write("# Actions used in real attacks, from TrailDiscover by Adan Alvarez (CC BY 4.0),\n")
    f.write("# commit f96cbdb0591f78d16b1948e84c211becce6258e6; built by scripts/build-traildiscover.py.\n")
    f.write("# action\tincident_reports\ttactics\n")
    for a, n, t in rows:
        f.write(f"{a}\t{n}\t{t}\n")
print(f"{len(rows)} actions", file=sys.stderr)

#!/usr/bin/env python3
"""Scores nhid alerts against nhid-gen labels, as tests/synthetic.rs does, with detail.

Usage: scripts/eval-synthetic.py DATA.jsonl ALERTS.jsonl
(labels are read from DATA.jsonl.labels.jsonl). Prints each attack instance with the best
severity it got and the rules, then the false Medium+ alerts (new alerts, not updates) by rule.
"""
import collections
import json
import sys

data, alerts_path = sys.argv[1], sys.argv[2]
inst = collections.defaultdict(lambda: (set(), set()))
low_by_design = {}
for line in open(data + ".labels.jsonl"):
    v = json.loads(line)
    if v.get("expect") == "low_by_design":
        low_by_design[(v["attack"], v["identity"])] = v.get("why", "")
    ids, nets = inst[(v["attack"], v["identity"])]
    ids.add(v["eventId"])
    if v.get("sourceIp"):
        nets.add(v["sourceIp"].rsplit(".", 1)[0])
alerts = [json.loads(l) for l in open(alerts_path)]


def belongs(a, ids, nets):
    d = a["evidences"][0]["data"]
    if d.get("record_id") in ids:
        return True
    ip = d.get("src_ip") or ""
    return d.get("source") == "azure_activity" and ip.rsplit(".", 1)[0] in nets


detected = 0
for (atk, ident), (ids, nets) in sorted(inst.items()):
    mine = [a for a in alerts if belongs(a, ids, nets)]
    best = max((a["severity_id"] for a in mine), default=0)
    rules = sorted({a["finding_info"]["analytic"]["uid"] for a in mine})
    low = (atk, ident) in low_by_design
    detected += best >= 3 or low
    tag = "OK  " if best >= 3 else ("LOW " if low else "MISS")
    print(f"{tag} {atk:34} sev {best} {ident[-40:]:40} {','.join(rules)}")
false = [
    a for a in alerts
    if a["severity_id"] >= 3 and a["activity_id"] == 1
    and not any(belongs(a, ids, nets) for ids, nets in inst.values())
]
by_rule = collections.Counter(a["finding_info"]["analytic"]["uid"] for a in false)
print(f"detected {detected}/{len(inst)} (Medium+ or Low by design: {len(low_by_design)}); alerts {len(alerts)}; false Medium+ {len(false)}: {dict(by_rule)}")
if "-v" in sys.argv:
    for a in false:
        d = a["evidences"][0]["data"]
        print("  FP", a["finding_info"]["analytic"]["uid"], a["severity_id"], a["actor"]["user"]["uid"], d.get("action"), d.get("event_time"), a.get("message", "")[:200])

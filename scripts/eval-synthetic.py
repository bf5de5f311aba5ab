#!/usr/bin/env python3
"""Scores nhid alerts against nhid-gen labels, as tests/synthetic.rs does, with detail.

Usage: scripts/eval-synthetic.py DATA.jsonl ALERTS.jsonl [-v]
(labels are read from DATA.jsonl.labels.jsonl). Prints each attack instance with the best
severity any alert version citing its records got and the rules, the false Medium+ (alert uids
-- incidents or standalone alerts -- that never cite an attack record and reached Medium in
some version), and the most new alerts (activity_id 1) citing one attack's records.
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
    # Any record the alert cites (an incident version cites its latest ones).
    for e in a["evidences"]:
        d = e["data"]
        if d.get("record_id") in ids:
            return True
        ip = d.get("src_ip") or ""
        if d.get("source") == "azure_activity" and ip.rsplit(".", 1)[0] in nets:
            return True
    return False


detected = 0
for (atk, ident), (ids, nets) in sorted(inst.items()):
    mine = [a for a in alerts if belongs(a, ids, nets)]
    best = max((a["severity_id"] for a in mine), default=0)
    rules = sorted({r["uid"] for a in mine for r in [a["finding_info"]["analytic"], *a["finding_info"].get("related_analytics", [])]})
    low = (atk, ident) in low_by_design
    detected += best >= 3 or low
    tag = "OK  " if best >= 3 else ("LOW " if low else "MISS")
    print(f"{tag} {atk:34} sev {best} {ident[-40:]:40} {','.join(rules)}")
# Per alert uid (an incident, or a standalone alert) over all its versions: false when it never
# cites an attack record and some version reached Medium.
by_uid = collections.defaultdict(list)
for a in alerts:
    by_uid[a["finding_info"]["uid"]].append(a)
false = []
for uid, versions in by_uid.items():
    if any(belongs(a, ids, nets) for a in versions for ids, nets in inst.values()):
        continue
    worst = max(versions, key=lambda a: a["severity_id"])
    if worst["severity_id"] >= 3:
        false.append(worst)
by_rule = collections.Counter(a["finding_info"]["analytic"]["uid"] for a in false)
new_per_attack = [
    sum(1 for a in alerts if a["activity_id"] == 1 and belongs(a, ids, nets))
    for ids, nets in inst.values()
]
creates = sum(1 for a in alerts if a["activity_id"] == 1)
print(f"detected {detected}/{len(inst)} (Medium+ or Low by design: {len(low_by_design)}); alerts {len(alerts)} ({creates} new); false Medium+ {len(false)}: {dict(by_rule)}; new alerts per attack max {max(new_per_attack, default=0)}")
if "-v" in sys.argv:
    for a in false:
        d = a["evidences"][-1]["data"]
        print("  FP", a["finding_info"]["analytic"]["uid"], a["severity_id"], a["actor"]["user"]["uid"], d.get("action"), d.get("event_time"), a.get("message", "")[:200])

#!/usr/bin/env python3
"""Validate groomB output files: JSONL parses, ids unique, timestamps increase, labels cover
every conversation, first_tactic_index in range, README counts match."""
import csv
import json
import os
import re
import sys
from collections import Counter
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
REQ = ["conversation_id", "message_id", "sender_id", "sent_at", "text", "sender_age_band"]
BANDS = {"child", "teen", "adult", "unknown"}
errors = []

convs = {}
mids = set()
with open(os.path.join(HERE, "conversations.jsonl"), encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: bad json {e}")
            continue
        for k in REQ:
            if k not in d:
                errors.append(f"line {n}: missing {k}")
        if d["message_id"] in mids:
            errors.append(f"line {n}: duplicate message_id {d['message_id']}")
        mids.add(d["message_id"])
        if not d["conversation_id"].startswith("groomB-"):
            errors.append(f"line {n}: bad prefix")
        if d["sender_age_band"] not in BANDS:
            errors.append(f"line {n}: bad band")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["sent_at"]):
            errors.append(f"line {n}: bad sent_at")
        if not d["text"] and not d.get("has_image"):
            errors.append(f"line {n}: empty text without image")
        convs.setdefault(d["conversation_id"], []).append(d)

for cid, msgs in convs.items():
    ts = [datetime.strptime(m["sent_at"], "%Y-%m-%dT%H:%M:%SZ") for m in msgs]
    if any(b <= a for a, b in zip(ts, ts[1:])):
        errors.append(f"{cid}: timestamps not strictly increasing")
    if len({m["sender_id"] for m in msgs}) != 2:
        errors.append(f"{cid}: not exactly two speakers")

with open(os.path.join(HERE, "labels.csv"), encoding="utf-8") as f:
    labels = list(csv.DictReader(f))
lab_ids = [r["conversation_id"] for r in labels]
if len(lab_ids) != len(set(lab_ids)):
    errors.append("duplicate conversation in labels.csv")
if set(lab_ids) != set(convs):
    errors.append("labels.csv and conversations.jsonl cover different conversations")
for r in labels:
    msgs = convs.get(r["conversation_id"], [])
    if r["label"] != "1":
        errors.append(f"{r['conversation_id']}: label not 1")
    if r["groomer_id"] not in {m["sender_id"] for m in msgs}:
        errors.append(f"{r['conversation_id']}: groomer_id not a speaker")
    if r["split"] not in ("dev", "test"):
        errors.append(f"{r['conversation_id']}: bad split")
    i = int(r["first_tactic_index"])
    if not (0 <= i < len(msgs)):
        errors.append(f"{r['conversation_id']}: first_tactic_index out of range")
    bands = {m["sender_id"]: m["sender_age_band"] for m in msgs}
    if bands.get(r["groomer_id"]) not in ("adult", "unknown"):
        errors.append(f"{r['conversation_id']}: groomer band wrong")

kinds = Counter(r["kind"] for r in labels)
ks = Counter((r["kind"], r["split"]) for r in labels)
total = sum(len(v) for v in convs.values())
msgs_by_kind = Counter()
for r in labels:
    msgs_by_kind[r["kind"]] += len(convs[r["conversation_id"]])

readme = open(os.path.join(HERE, "README.md"), encoding="utf-8").read()
expect = [f"| {k} | {kinds[k]} | {ks[(k, 'dev')]} | {ks[(k, 'test')]} | {msgs_by_kind[k]} |" for k in kinds]
expect.append(f"| **total** | **{len(labels)}** | **{sum(v for (k, s), v in ks.items() if s == 'dev')}** | "
              f"**{sum(v for (k, s), v in ks.items() if s == 'test')}** | **{total}** |")
for row in expect:
    if row not in readme:
        errors.append(f"README missing/incorrect row: {row}")

print(f"conversations={len(convs)} messages={total}")
for k in kinds:
    print(f"  {k}: {kinds[k]} (dev {ks[(k, 'dev')]}, test {ks[(k, 'test')]}), messages {msgs_by_kind[k]}")
if errors:
    print("ERRORS:")
    for e in errors:
        print("  ", e)
    sys.exit(1)
print("OK")

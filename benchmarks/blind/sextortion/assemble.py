#!/usr/bin/env python3
"""Assemble the hand-written conversations in src/*.txt into conversations.jsonl
and labels.csv, then validate.

Source format (one block per conversation, written by hand):

    ### <local-name>
    label: 1
    kind: financial
    script: S1            (optional)
    start: 2026-01-17T22:41:05Z
    @A handle adult
    @B handle teen
    groomer: A            (label 1 only)
    ---
    A: text
    B: [+3m] text          gap before this message (s/m/h/d); default = short typing gap
    B: [img] caption       message carries a picture
    A!: text               '!' marks the first threatening / extortion message
    ===

Only ids and timestamps are assigned here; every line of text is hand-written
in src/. Conversation ids are shuffled (fixed seed) so the id order does not
reveal the kind.
"""
import csv
import glob
import json
import os
import random
import re
import sys
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
LINE_RE = re.compile(r"^([A-Z])(!?):\s?(.*)$")
TOK_RE = re.compile(r"^\s*\[(\+\d+(?:\.\d+)?[smhd]|img)\]\s*")


def parse_gap(tok):
    n = float(tok[1:-1])
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[tok[-1]]


def default_gap(text, rng, prev_same):
    # short typing gap: longer messages take longer; bursts from one speaker are fast
    base = rng.uniform(3, 9) if prev_same else rng.uniform(6, 45)
    return base + len(text) * rng.uniform(0.15, 0.45)


def parse_file(path):
    convs = []
    cur = None
    in_body = False
    with open(path, encoding="utf-8") as f:
        for ln, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = f"{os.path.basename(path)}:{ln}"
            if line.startswith("### "):
                if cur is not None:
                    raise SystemExit(f"{where}: previous conversation not closed with ===")
                cur = {"name": line[4:].strip(), "meta": {}, "people": {}, "msgs": [], "where": where}
                in_body = False
                continue
            if cur is None:
                if line.strip() and not line.startswith("#"):
                    raise SystemExit(f"{where}: text outside a conversation: {line!r}")
                continue
            if line.strip() == "===":
                convs.append(cur)
                cur = None
                continue
            if not in_body:
                if line.strip() == "---":
                    in_body = True
                elif line.startswith("@"):
                    key, handle, band = line[1:].split()
                    cur["people"][key] = (handle, band)
                elif line.strip():
                    k, v = line.split(":", 1)
                    cur["meta"][k.strip()] = v.strip()
                continue
            if not line.strip():
                continue
            m = LINE_RE.match(line)
            if not m:
                raise SystemExit(f"{where}: bad message line: {line!r}")
            who, bang, rest = m.groups()
            gap, img = None, False
            while True:
                t = TOK_RE.match(rest)
                if not t:
                    break
                if t.group(1) == "img":
                    img = True
                else:
                    gap = parse_gap(t.group(1))
                rest = rest[t.end():]
            cur["msgs"].append({"who": who, "threat": bool(bang), "gap": gap, "img": img,
                                "text": rest.strip(), "where": where})
    if cur is not None:
        raise SystemExit(f"{path}: last conversation not closed with ===")
    return convs


def main():
    convs = []
    for p in sorted(glob.glob(os.path.join(SRC, "*.txt"))):
        convs.extend(parse_file(p))
    names = [c["name"] for c in convs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"duplicate local names: {dup}")

    rng = random.Random(20260314)
    order = list(range(len(convs)))
    rng.shuffle(order)
    for num, idx in enumerate(order, 1):
        convs[idx]["cid"] = f"sext-{num:04d}"

    # split: random, balanced within kind (and within script for scripted ones)
    groups = {}
    for c in convs:
        key = (c["meta"]["kind"], c["meta"].get("script", ""))
        groups.setdefault(key, []).append(c)
    srng = random.Random(77)
    carry = {}
    for key in sorted(groups):
        g = sorted(groups[key], key=lambda c: c["name"])
        srng.shuffle(g)
        kind = key[0]
        # alternate which split gets the odd one out, per kind
        first = carry.get(kind, srng.choice(["dev", "test"]))
        other = "test" if first == "dev" else "dev"
        for i, c in enumerate(g):
            c["split"] = first if i % 2 == 0 else other
        if len(g) % 2 == 1:
            carry[kind] = other

    out_msgs = []
    labels = []
    errors = []
    for c in sorted(convs, key=lambda c: c["cid"]):
        meta, people = c["meta"], c["people"]
        cid = c["cid"]
        label = int(meta["label"])
        t = datetime.strptime(meta["start"], "%Y-%m-%dT%H:%M:%SZ")
        crng = random.Random(c["name"])
        prev_who = None
        first_threat = None
        groomer_key = meta.get("groomer", "")
        for i, m in enumerate(c["msgs"]):
            if m["who"] not in people:
                errors.append(f"{m['where']}: unknown speaker {m['who']}")
                continue
            if i > 0:
                g = m["gap"] if m["gap"] is not None else default_gap(m["text"], crng, m["who"] == prev_who)
                t += timedelta(seconds=max(1, round(g)))
            prev_who = m["who"]
            handle, band = people[m["who"]]
            rec = {"conversation_id": cid, "message_id": f"{cid}-m{i:03d}", "sender_id": handle,
                   "sent_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "text": m["text"],
                   "sender_age_band": band}
            if m["img"]:
                rec["has_image"] = True
            elif not m["text"]:
                errors.append(f"{m['where']}: empty text without image")
            if m["threat"]:
                if first_threat is None:
                    first_threat = i
                else:
                    errors.append(f"{m['where']}: second '!' marker in {c['name']}")
                if label == 1 and m["who"] != groomer_key:
                    errors.append(f"{m['where']}: threat marker not on groomer")
            out_msgs.append(rec)
        n = len(c["msgs"])
        kind = meta["kind"]
        if label == 1:
            if first_threat is None:
                errors.append(f"{c['where']}: label-1 conversation {c['name']} has no '!' marker")
            if groomer_key not in people:
                errors.append(f"{c['where']}: groomer missing")
            lo, hi = {"financial": (12, 60), "coercion_764": (15, 60)}.get(kind, (8, 200))
            if not lo <= n <= hi:
                errors.append(f"{c['where']}: {c['name']} has {n} messages, want {lo}-{hi}")
            if kind == "financial" and not meta.get("script"):
                errors.append(f"{c['where']}: financial without script")
        else:
            if first_threat is not None:
                errors.append(f"{c['where']}: '!' marker in label-0 conversation")
        if len({h for h, _ in people.values()}) != len(people):
            errors.append(f"{c['where']}: duplicate handles within conversation")
        labels.append({"conversation_id": cid, "label": label, "kind": kind,
                       "groomer_id": people[groomer_key][0] if label == 1 and groomer_key in people else "",
                       "split": c["split"], "script_id": meta.get("script", ""),
                       "first_threat_index": first_threat if label == 1 and first_threat is not None else "",
                       "_name": c["name"]})

    if errors:
        print("\n".join(errors))
        raise SystemExit(f"{len(errors)} errors")

    with open(os.path.join(HERE, "conversations.jsonl"), "w", encoding="utf-8") as f:
        for r in out_msgs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "labels.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["conversation_id", "label", "kind", "groomer_id", "split",
                                          "script_id", "first_threat_index"])
        w.writeheader()
        for r in labels:
            w.writerow({k: v for k, v in r.items() if not k.startswith("_")})
    # private map of local names (kept for the author; not needed by the evaluator)
    with open(os.path.join(HERE, "src", "id_map.tsv"), "w", encoding="utf-8") as f:
        for r in labels:
            f.write(f"{r['conversation_id']}\t{r['_name']}\n")
    validate()


def validate():
    seen_mid = set()
    per_conv = {}
    with open(os.path.join(HERE, "conversations.jsonl"), encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            r = json.loads(line)
            for k in ("conversation_id", "message_id", "sender_id", "sent_at", "text", "sender_age_band"):
                assert k in r, (ln, k)
            assert r["sender_age_band"] in ("child", "teen", "adult", "unknown"), ln
            assert r["message_id"] not in seen_mid, r["message_id"]
            seen_mid.add(r["message_id"])
            assert r["conversation_id"].startswith("sext-")
            datetime.strptime(r["sent_at"], "%Y-%m-%dT%H:%M:%SZ")
            per_conv.setdefault(r["conversation_id"], []).append(r)
    for cid, ms in per_conv.items():
        ts = [m["sent_at"] for m in ms]
        assert all(a < b for a, b in zip(ts, ts[1:])), f"timestamps not increasing in {cid}"
        assert len({m["sender_id"] for m in ms}) >= 2, cid
    with open(os.path.join(HERE, "labels.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [r["conversation_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(per_conv), "labels and conversations differ"
    for r in rows:
        if r["label"] == "1":
            fti = int(r["first_threat_index"])
            msg = per_conv[r["conversation_id"]][fti]
            assert msg["sender_id"] == r["groomer_id"], r
            assert r["groomer_id"] in {m["sender_id"] for m in per_conv[r["conversation_id"]]}
        else:
            assert r["groomer_id"] == "" and r["first_threat_index"] == "" and r["script_id"] == ""
    # summary
    from collections import Counter
    kinds = Counter((r["label"], r["kind"]) for r in rows)
    splits = Counter((r["kind"], r["split"]) for r in rows)
    nmsg = sum(len(v) for v in per_conv.values())
    print(f"conversations: {len(rows)}  messages: {nmsg}")
    for (lab, k), n in sorted(kinds.items()):
        msgs = sum(len(per_conv[r['conversation_id']]) for r in rows if r['kind'] == k)
        print(f"  label {lab} {k:18s} {n:3d} conv  dev={splits[(k,'dev')]:2d} test={splits[(k,'test')]:2d}  msgs={msgs}")
    scripts = Counter((r["script_id"], r["split"]) for r in rows if r["script_id"])
    for s in sorted({r["script_id"] for r in rows if r["script_id"]}):
        print(f"  script {s}: dev={scripts[(s,'dev')]} test={scripts[(s,'test')]}")
    print("validation OK")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--validate":
        validate()
    else:
        main()

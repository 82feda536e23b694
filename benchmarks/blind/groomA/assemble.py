#!/usr/bin/env python3
"""Assemble the hand-written conversations in src/*.txt into conversations.jsonl
and labels.csv, and validate the result.

Source format (written by hand, one conversation per block):

  ### key=sb01 kind=slow_build off=handle:adult kid=handle:teen start=2026-01-12T19:04 pushback=0
  O: message from the offender
  K: message from the child
  !O: the '!' marks the first message a moderator should be concerned by
  K*: caption   ('*' = message carries an image; text may be empty)
  @+2d 18:40    jump N days ahead, to that time of day (UTC)
  @+3h / @+25m  add a gap
  @21:10        same day, later time
  (all times in a block are the speakers' local time; header tz=+10 / tz=-5 /
   tz=+5:30 gives the UTC offset used to convert them to UTC)

The only thing this script generates is the seconds-level timing between
messages inside one sitting (a seeded "typing delay") and the id / split
assignment. All message text is hand-written in src/.
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
PREFIX = "groomA"
KINDS = ["slow_build", "no_age_stated", "peer_pretender", "fast"]

HDR = re.compile(r"^###\s+(.*)$")
MSG = re.compile(r"^(!?)([OK])(\*?):\s?(.*)$")
JUMP_D = re.compile(r"^@\+(\d+)d\s+(\d{1,2}):(\d{2})$")
JUMP_HM = re.compile(r"^@\+(\d+)([hm])$")
JUMP_T = re.compile(r"^@(\d{1,2}):(\d{2})$")


def parse():
    convs = []
    cur = None
    for fn in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        with open(fn, encoding="utf-8") as f:
            for ln, raw in enumerate(f, 1):
                line = raw.rstrip("\n")
                where = f"{os.path.basename(fn)}:{ln}"
                if not line.strip():
                    continue
                m = HDR.match(line)
                if m:
                    kv = dict(p.split("=", 1) for p in m.group(1).split())
                    cur = {"meta": kv, "items": [], "where": where}
                    convs.append(cur)
                    continue
                if cur is None:
                    continue
                s = line.strip()
                if s.startswith("@"):
                    for rx, typ in ((JUMP_D, "d"), (JUMP_HM, "hm"), (JUMP_T, "t")):
                        mm = rx.match(s)
                        if mm:
                            cur["items"].append(("jump", typ, mm.groups(), where))
                            break
                    else:
                        sys.exit(f"bad jump {where}: {s}")
                    continue
                mm = MSG.match(line)
                if not mm:
                    sys.exit(f"bad line {where}: {line!r}")
                flag, who, img, text = mm.groups()
                cur["items"].append(("msg", who, bool(img), bool(flag), text.strip(), where))
    return convs


def build(convs):
    rnd_ids = random.Random(20260314)
    keys = [c["meta"]["key"] for c in convs]
    if len(set(keys)) != len(keys):
        sys.exit("duplicate keys")
    order = list(range(len(convs)))
    rnd_ids.shuffle(order)
    cid_of = {}
    for n, i in enumerate(order, 1):
        cid_of[convs[i]["meta"]["key"]] = f"{PREFIX}-{n:04d}"

    # split: balanced within kind, random
    rnd_split = random.Random(777)
    split_of = {}
    for k in KINDS:
        ks = [c["meta"]["key"] for c in convs if c["meta"]["kind"] == k]
        rnd_split.shuffle(ks)
        for j, key in enumerate(ks):
            split_of[key] = "dev" if j % 2 == 0 else "test"

    rows, labels = [], []
    for c in sorted(convs, key=lambda c: cid_of[c["meta"]["key"]]):
        meta = c["meta"]
        key = meta["key"]
        cid = cid_of[key]
        off_h, off_b = meta["off"].split(":")
        kid_h, kid_b = meta["kid"].split(":")
        assert off_b in ("adult", "unknown"), key
        assert kid_b in ("child", "teen"), key
        tzs = meta.get("tz", "0")
        sign = -1 if tzs.startswith("-") else 1
        hh_mm = tzs.lstrip("+-").split(":")
        tzoff = sign * timedelta(hours=int(hh_mm[0]), minutes=int(hh_mm[1]) if len(hh_mm) > 1 else 0)
        rnd = random.Random("t-" + key)
        t = datetime.strptime(meta["start"], "%Y-%m-%dT%H:%M") + timedelta(seconds=rnd.randint(0, 59))
        prev_who = None
        first_flag = None
        idx = 0
        pending_jump = False
        for it in c["items"]:
            if it[0] == "jump":
                _, typ, g, where = it
                if typ == "d":
                    nd, hh, mi = int(g[0]), int(g[1]), int(g[2])
                    base = (t + timedelta(days=nd)).replace(hour=hh, minute=mi, second=rnd.randint(0, 59))
                    if base <= t:
                        sys.exit(f"jump not forward {where}")
                    if base - t < timedelta(hours=3):
                        print(f"WARNING short day-jump {where}: {t} -> {base}")
                    t = base
                elif typ == "hm":
                    n, u = int(g[0]), g[1]
                    t = t + (timedelta(hours=n) if u == "h" else timedelta(minutes=n)) + timedelta(seconds=rnd.randint(0, 59))
                else:
                    hh, mi = int(g[0]), int(g[1])
                    base = t.replace(hour=hh, minute=mi, second=rnd.randint(0, 59))
                    if base <= t:
                        sys.exit(f"@time not forward {where} ({t} -> {base})")
                    t = base
                pending_jump = True
                continue
            _, who, img, flag, text, where = it
            if idx > 0 and not pending_jump:
                L = len(text)
                if who == prev_who:
                    gap = 2 + L * 0.22 + rnd.uniform(0, 12)
                else:
                    gap = 4 + L * 0.3 + min(rnd.expovariate(1 / 35.0), 400)
                    if rnd.random() < 0.04:
                        gap += rnd.uniform(120, 600)
                t = t + timedelta(seconds=int(gap))
            pending_jump = False
            sender = off_h if who == "O" else kid_h
            band = off_b if who == "O" else kid_b
            row = {
                "conversation_id": cid,
                "message_id": f"{cid}-m{idx:03d}",
                "sender_id": sender,
                "sent_at": (t - tzoff).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "text": text,
                "sender_age_band": band,
            }
            if img:
                row["has_image"] = True
            rows.append(row)
            if flag and first_flag is None:
                first_flag = idx
            prev_who = who
            idx += 1
        if first_flag is None:
            sys.exit(f"no ! marker in {key} ({c['where']})")
        labels.append({
            "conversation_id": cid, "label": 1, "kind": meta["kind"], "groomer_id": off_h,
            "split": split_of[key], "first_tactic_index": first_flag,
            "_key": key, "_n": idx, "_pb": meta.get("pushback", "0"), "_ob": off_b, "_kb": kid_b,
        })
    return rows, labels


AGE_RX = re.compile(r"(\b(1[0-9]|[0-9])\s*(yo|y/o|yrs?|years?)\b|\bage\b|\baged\b|\bgrade\b|\byear\s*\d|\byr\s*\d|\b1[0-9]\b|\bsixteen|\bfifteen|\bfourteen|\bthirteen|\btwelve|\beleven\b|\bold are\b|\bhow old\b|\bbirthday\b|\bteen\b|\bteenager)", re.I)


def validate(rows, labels):
    ids = set()
    last = {}
    for r in rows:
        json.loads(json.dumps(r))
        assert r["message_id"] not in ids
        ids.add(r["message_id"])
        c = r["conversation_id"]
        if c in last:
            assert r["sent_at"] > last[c], (r["message_id"], r["sent_at"], last[c])
        last[c] = r["sent_at"]
    cids = {r["conversation_id"] for r in rows}
    assert cids == {l["conversation_id"] for l in labels}
    # pairs distinct
    pairs = {}
    for r in rows:
        pairs.setdefault(r["conversation_id"], set()).add(r["sender_id"])
    for c, p in pairs.items():
        assert len(p) == 2, (c, p)
    handles = [h for p in pairs.values() for h in p]
    dup = {h for h in handles if handles.count(h) > 1}
    if dup:
        print("WARNING handle reused across conversations:", dup)
    # no-age check
    warn = 0
    noage = {l["conversation_id"] for l in labels if l["kind"] == "no_age_stated"}
    for r in rows:
        if r["conversation_id"] in noage and AGE_RX.search(r["text"]):
            print("AGE?", r["message_id"], r["text"])
            warn += 1
    return warn


def main():
    convs = parse()
    rows, labels = build(convs)
    warn = validate(rows, labels)
    with open(os.path.join(HERE, "conversations.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "labels.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "label", "kind", "groomer_id", "split", "first_tactic_index"])
        for l in labels:
            w.writerow([l["conversation_id"], l["label"], l["kind"], l["groomer_id"], l["split"], l["first_tactic_index"]])
    with open(os.path.join(HERE, "meta.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "kind", "n_messages", "child_pushback", "offender_band", "child_band"])
        for l in labels:
            w.writerow([l["conversation_id"], l["kind"], l["_n"], l["_pb"], l["_ob"], l["_kb"]])
    # summary
    from collections import Counter, defaultdict
    print("conversations", len(labels), "messages", len(rows), "age-warnings", warn)
    by = defaultdict(lambda: Counter())
    for l in labels:
        by[l["kind"]]["n"] += 1
        by[l["kind"]][l["split"]] += 1
        by[l["kind"]]["msgs"] += l["_n"]
        by[l["kind"]]["pushback"] += int(l["_pb"])
        by[l["kind"]]["off_unknown"] += l["_ob"] == "unknown"
        by[l["kind"]]["kid_child"] += l["_kb"] == "child"
    for k in KINDS:
        print(k, dict(by[k]))
    for l in labels:
        print(l["_key"], l["conversation_id"], l["kind"], l["_n"], "fti", l["first_tactic_index"], l["_ob"], l["_kb"], "pb" if l["_pb"] == "1" else "")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Assemble the hand-written groomB conversations into conversations.jsonl + labels.csv.

Source files: src/*.txt. Every conversation is written by hand, line by line, in this form:

    ### L01
    kind: messenger_long
    platform: snapchat
    G: handle band          (offender / groomer)
    C: handle band          (child / teen)
    tz: -5                  (local UTC offset in hours, used for the written clock times)
    start: 2026-01-10 19:02 (local time of the first message)
    ages: stated|none       (does anybody state an age explicitly?)
    ---
    C: hi
    G: heyy
    ~12m                    (pause of about 12 minutes before the next message)
    @21:40                  (next message at 21:40 local, same day)
    @+2d 16:05              (next message two days later at 16:05 local)
    !G: ...                 ('!' marks the first message a moderator would be concerned by)
    G: [img] caption        ('[img]' = message carries a picture)

The script only converts clock/gap markers into timestamps (with small seeded jitter for
reply tempo), assigns final ids and splits, and validates. It does not generate text.
"""
import csv
import glob
import json
import os
import random
import re
import sys
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "groomB"
KINDS = {"messenger_long": (80, 250), "help_and_trust": (30, 120),
         "meetup": (30, 120), "mixed_signals": (40, 150)}
BANDS = {"child", "teen", "adult", "unknown"}


def parse_files():
    convs = []
    for path in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        cur = None
        in_body = False
        for ln_no, raw in enumerate(lines, 1):
            line = raw.rstrip()
            where = f"{os.path.basename(path)}:{ln_no}"
            if line.startswith("### "):
                cur = {"key": line[4:].strip(), "meta": {}, "body": [], "where": where}
                convs.append(cur)
                in_body = False
                continue
            if cur is None:
                if line.strip():
                    sys.exit(f"{where}: text outside a conversation")
                continue
            if not in_body:
                if line.strip() == "---":
                    in_body = True
                elif line.strip():
                    k, _, v = line.partition(":")
                    cur["meta"][k.strip()] = v.strip()
                continue
            if not line.strip():
                continue
            cur["body"].append((line, where))
    return convs


def build(conv):
    m = conv["meta"]
    for k in ("kind", "G", "C", "tz", "start", "ages", "platform"):
        if k not in m:
            sys.exit(f"{conv['where']}: missing header {k}")
    g_handle, g_band = m["G"].rsplit(None, 1)
    c_handle, c_band = m["C"].rsplit(None, 1)
    assert g_band in ("adult", "unknown"), conv["key"]
    assert c_band in ("child", "teen"), conv["key"]
    tz = timezone(timedelta(hours=float(m["tz"])))
    t = datetime.strptime(m["start"], "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    t += timedelta(seconds=random.Random(conv["key"]).randint(0, 59))
    rng = random.Random("tempo-" + conv["key"])
    msgs = []
    pending_gap = None
    pending_abs = None
    first = True
    prev_speaker = None
    tactic_idx = None
    for line, where in conv["body"]:
        s = line.strip()
        mg = re.fullmatch(r"~(\d+)([smhd])", s)
        if mg:
            n = int(mg.group(1))
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[mg.group(2)]
            pending_gap = timedelta(**{unit: n})
            continue
        ma = re.fullmatch(r"@(?:\+(\d+)d\s+)?(\d{1,2}):(\d{2})", s)
        if ma:
            days = int(ma.group(1) or 0)
            base = t.astimezone(tz)
            target = (base + timedelta(days=days)).replace(
                hour=int(ma.group(2)), minute=int(ma.group(3)), second=rng.randint(0, 59))
            if target <= t:
                sys.exit(f"{where}: clock marker {s} is not after current time {base}")
            pending_abs = target
            continue
        mm = re.match(r"(!?)([GC]):\s?(.*)$", s)
        if not mm:
            sys.exit(f"{where}: cannot parse line: {s!r}")
        mark, who, text = mm.groups()
        has_image = False
        if text.startswith("[img]"):
            has_image = True
            text = text[5:].strip()
        if not text and not has_image:
            sys.exit(f"{where}: empty message")
        if not first:
            if pending_abs is not None:
                t = pending_abs
            else:
                if who == prev_speaker:
                    d = rng.uniform(2, 14) + len(text) * rng.uniform(0.12, 0.3)
                else:
                    d = rng.uniform(6, 55) + len(text) * rng.uniform(0.2, 0.55)
                    if rng.random() < 0.08:
                        d += rng.uniform(60, 400)
                if pending_gap is not None:
                    d += pending_gap.total_seconds() * rng.uniform(0.9, 1.1)
                t = t + timedelta(seconds=int(max(2, d)))
        pending_gap = None
        pending_abs = None
        first = False
        prev_speaker = who
        if mark:
            if tactic_idx is not None:
                sys.exit(f"{where}: second '!' marker in {conv['key']}")
            tactic_idx = len(msgs)
        msg = {"sender_id": g_handle if who == "G" else c_handle,
               "sent_at": t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "text": text,
               "sender_age_band": g_band if who == "G" else c_band}
        if has_image:
            msg["has_image"] = True
        msgs.append(msg)
    if tactic_idx is None:
        sys.exit(f"{conv['where']}: no '!' marker in {conv['key']}")
    lo, hi = KINDS[m["kind"]]
    if not (lo <= len(msgs) <= hi):
        print(f"WARNING {conv['key']} {m['kind']} has {len(msgs)} messages (want {lo}-{hi})")
    speakers = {x["sender_id"] for x in msgs}
    if len(speakers) != 2:
        sys.exit(f"{conv['key']}: expected two speakers")
    return {"key": conv["key"], "kind": m["kind"], "platform": m["platform"],
            "ages": m["ages"], "groomer": g_handle, "child": c_handle,
            "g_band": g_band, "c_band": c_band, "msgs": msgs, "tactic": tactic_idx}


def main():
    convs = parse_files()
    keys = [c["key"] for c in convs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        sys.exit(f"duplicate conversation keys: {dup}")
    built = [build(c) for c in convs]
    handles = [b["groomer"] for b in built] + [b["child"] for b in built]
    dh = {h for h in handles if handles.count(h) > 1}
    if dh:
        sys.exit(f"handles reused across conversations: {dh}")
    # final ids: seeded shuffle so the id does not reveal the kind
    order = sorted(built, key=lambda b: b["key"])
    random.Random("groomB-ids").shuffle(order)
    for i, b in enumerate(order, 1):
        b["cid"] = f"{PREFIX}-{i:04d}"
    # splits: balanced within kind
    rs = random.Random("groomB-split")
    for kind in KINDS:
        group = sorted([b for b in built if b["kind"] == kind], key=lambda b: b["key"])
        rs.shuffle(group)
        for j, b in enumerate(group):
            b["split"] = "dev" if j < (len(group) + 1) // 2 else "test"
    order.sort(key=lambda b: b["cid"])
    n_total = 0
    with open(os.path.join(HERE, "conversations.jsonl"), "w", encoding="utf-8") as f:
        for b in order:
            for j, msg in enumerate(b["msgs"]):
                rec = {"conversation_id": b["cid"], "message_id": f"{b['cid']}-m{j:03d}"}
                rec.update(msg)
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n_total += 1
    with open(os.path.join(HERE, "labels.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "label", "kind", "groomer_id", "split", "first_tactic_index"])
        for b in order:
            w.writerow([b["cid"], 1, b["kind"], b["groomer"], b["split"], b["tactic"]])
    with open(os.path.join(HERE, "meta.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "source_key", "kind", "platform", "age_stated",
                    "offender_band", "child_band", "n_messages"])
        for b in order:
            w.writerow([b["cid"], b["key"], b["kind"], b["platform"], b["ages"],
                        b["g_band"], b["c_band"], len(b["msgs"])])
    # summary
    from collections import Counter
    print("conversations", len(order), "messages", n_total)
    print("kinds", Counter(b["kind"] for b in order))
    print("kind/split", sorted(Counter((b["kind"], b["split"]) for b in order).items()))
    print("offender unknown", sum(b["g_band"] == "unknown" for b in order))
    print("child bands", Counter(b["c_band"] for b in order))
    print("ages none", sum(b["ages"] == "none" for b in order),
          "| mixed none", sum(b["ages"] == "none" and b["kind"] == "mixed_signals" for b in order))
    for kind in KINDS:
        ns = [len(b["msgs"]) for b in order if b["kind"] == kind]
        if ns:
            print(f"  {kind}: n={len(ns)} msgs={sum(ns)} min={min(ns)} max={max(ns)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Assemble hand-written conversations (src/*.txt) into conversations.jsonl + labels.csv.

Source format (one file may hold several conversations):
  === negadult-0001
  kind: adult_flirt
  start: 2026-02-11T21:14:00Z
  who: A=jess_kw:adult B=tomm88:adult
  A: message text
  B: [img] optional caption        -> has_image true
  ~2h                              -> extra gap before next message (s/m/h/d)
The script only assigns message ids and timestamps (reply tempo) and validates.
Every message line is authored by hand in src/.
"""
import csv, glob, json, os, random, re, sys
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
BANDS = {"child", "teen", "adult", "unknown"}
EXPECTED = {"adult_flirt": 40, "irc_group": 25, "family_care": 25,
            "commerce_support": 20, "long_adult": 20}

def parse():
    convs = []
    cur = None
    for fn in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        for ln, raw in enumerate(open(fn, encoding="utf-8"), 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{os.path.basename(fn)}:{ln}"
            if line.startswith("=== "):
                cur = {"id": line[4:].strip(), "msgs": [], "who": {}, "src": where, "gap": 0, "anchor": None}
                convs.append(cur)
                continue
            if cur is None:
                sys.exit(f"{where}: text before header")
            m = re.match(r"^(kind|start|who):\s*(.*)$", line)
            if m and not cur["msgs"]:
                k, v = m.groups()
                if k == "who":
                    for tok in v.split():
                        key, rest = tok.split("=", 1)
                        handle, band = rest.rsplit(":", 1)
                        if band not in BANDS:
                            sys.exit(f"{where}: bad band {band}")
                        cur["who"][key] = (handle, band)
                else:
                    cur[k] = v.strip()
                continue
            m = re.match(r"^@(\d{4}-\d\d-\d\dT\d\d:\d\d)\s*$", line)
            if m:   # calendar anchor: next message is sent at/just after this time
                cur["anchor"] = (datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.utc), where)
                continue
            if re.match(r"^~(\d+(?:\.\d+)?[smhd])+\s*$", line):
                for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhd])", line):
                    cur["gap"] += float(n) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[u]
                continue
            m = re.match(r"^([^:\s]+): ?(.*)$", line)
            if not m or m.group(1) not in cur["who"]:
                sys.exit(f"{where}: cannot parse speaker in: {line!r}")
            key, text = m.groups()
            img = False
            if text.startswith("[img]"):
                img, text = True, text[5:].strip()
            cur["msgs"].append({"key": key, "text": text, "img": img, "gap": cur["gap"], "anchor": cur["anchor"]})
            cur["gap"] = 0
            cur["anchor"] = None
    return convs

ANCHOR_ERRS = []

def build():
    convs = parse()
    ids = [c["id"] for c in convs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        sys.exit(f"duplicate conversation ids: {dup}")
    rows, labels = [], []
    for c in convs:
        rnd = random.Random(c["id"])
        t = datetime.strptime(c["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        prev = None
        for i, m in enumerate(c["msgs"], 1):
            if i > 1:
                words = len(m["text"].split())
                if m["key"] == prev:           # burst from same speaker
                    d = rnd.uniform(2, 9) + words * rnd.uniform(0.8, 1.6)
                else:                          # reply: read + type
                    d = rnd.uniform(6, 45) + words * rnd.uniform(1.2, 2.5)
                    if rnd.random() < 0.07:
                        d += rnd.uniform(60, 400)
                d += m["gap"] + (rnd.uniform(0, 0.1) * m["gap"] if m["gap"] else 0)
                t += timedelta(seconds=int(d) + 1)
                if m["anchor"]:
                    a, where = m["anchor"]
                    if t > a:
                        ANCHOR_ERRS.append(f"{where}: natural time {t:%Y-%m-%d %H:%M} already past anchor {a:%Y-%m-%d %H:%M}")
                    else:
                        t = a + timedelta(seconds=rnd.randint(5, 240))
            handle, band = c["who"][m["key"]]
            rec = {"conversation_id": c["id"], "message_id": f"{c['id']}-m{i:03d}",
                   "sender_id": handle, "sent_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "text": m["text"], "sender_age_band": band}
            if m["img"]:
                rec["has_image"] = True
            rows.append(rec)
            prev = m["key"]
        labels.append(c)
    # split: random but balanced within kind
    rs = random.Random(20260314)
    by_kind = {}
    for c in labels:
        by_kind.setdefault(c["kind"], []).append(c)
    split = {}
    for k, cs in by_kind.items():
        order = [c["id"] for c in cs]
        rs.shuffle(order)
        for j, cid in enumerate(order):
            split[cid] = "dev" if j % 2 == 0 else "test"
    with open(os.path.join(HERE, "conversations.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "labels.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "label", "kind", "groomer_id", "split"])
        for c in sorted(labels, key=lambda c: c["id"]):
            w.writerow([c["id"], 0, c["kind"], "", split[c["id"]]])
    return convs

def validate(convs):
    errs = []
    seen, last = set(), {}
    lab = {r["conversation_id"]: r for r in csv.DictReader(open(os.path.join(HERE, "labels.csv")))}
    n = 0
    for line in open(os.path.join(HERE, "conversations.jsonl"), encoding="utf-8"):
        r = json.loads(line); n += 1
        for k in ["conversation_id", "message_id", "sender_id", "sent_at", "text", "sender_age_band"]:
            if k not in r: errs.append(f"missing {k}: {r}")
        if r["message_id"] in seen: errs.append("dup msg id " + r["message_id"])
        seen.add(r["message_id"])
        if not r["conversation_id"].startswith("negadult-"): errs.append("bad prefix")
        if r["conversation_id"] not in lab: errs.append("not in labels " + r["conversation_id"])
        if r["sender_age_band"] not in BANDS: errs.append("band")
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r["sent_at"]): errs.append("ts fmt")
        p = last.get(r["conversation_id"])
        if p and r["sent_at"] <= p: errs.append("ts order " + r["message_id"])
        last[r["conversation_id"]] = r["sent_at"]
    for cid, r in lab.items():
        if r["label"] != "0" or r["groomer_id"] != "": errs.append("label " + cid)
        if cid not in last: errs.append("no messages " + cid)
    for c in convs:
        handles = {h for h, b in c["who"].values()}
        k = c["kind"]
        bands = {c["who"][m["key"]][1] for m in c["msgs"]}
        if k in ("adult_flirt", "commerce_support", "long_adult") and bands != {"adult"}:
            errs.append(f"{c['id']} non-adult band {bands}")
        if k == "irc_group" and bands != {"unknown"}:
            errs.append(f"{c['id']} irc band {bands}")
        if k == "irc_group" and len({m['key'] for m in c['msgs']}) < 3:
            errs.append(f"{c['id']} irc <3 speakers")
        if k == "family_care" and not ({"child", "teen"} & bands and "adult" in bands):
            errs.append(f"{c['id']} family bands {bands}")
        if k == "long_adult" and not (150 <= len(c["msgs"]) <= 400):
            errs.append(f"{c['id']} long len {len(c['msgs'])}")
    return n, errs

if __name__ == "__main__":
    convs = build()
    n, errs = validate(convs)
    errs = ANCHOR_ERRS + errs
    from collections import Counter, defaultdict
    kc, km, kw = Counter(), Counter(), Counter()
    sp = defaultdict(Counter)
    lab = {r["conversation_id"]: r for r in csv.DictReader(open(os.path.join(HERE, "labels.csv")))}
    for c in convs:
        kc[c["kind"]] += 1; km[c["kind"]] += len(c["msgs"])
        kw[c["kind"]] += sum(len(m["text"].split()) for m in c["msgs"])
        sp[c["kind"]][lab[c["id"]]["split"]] += 1
    for k in EXPECTED:
        print(f"{k:18s} convs={kc[k]:3d}/{EXPECTED[k]} msgs={km[k]:5d} words={kw[k]:6d} split={dict(sp[k])}")
    print("total convs", len(convs), "msgs", n, "words", sum(kw.values()))
    if "-f" in sys.argv:   # find: show timestamp of messages containing a string
        pat = sys.argv[sys.argv.index("-f") + 1].lower()
        for line in open(os.path.join(HERE, "conversations.jsonl"), encoding="utf-8"):
            r = json.loads(line)
            if pat in r["text"].lower():
                print(r["message_id"], r["sent_at"], r["text"][:60])
    if "-v" in sys.argv:
        for c in convs:
            print(c["id"], c["kind"], len(c["msgs"]), sum(len(m["text"].split()) for m in c["msgs"]))
    print("ERRORS:" if errs else "OK", *errs[:50], sep="\n")

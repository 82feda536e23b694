#!/usr/bin/env python3
"""Assemble the hand-written conversations in parts/*.txt into conversations.jsonl
and labels.csv, and validate the result.

Part-file format (every message line is authored by hand):
  ### <num> <kind> <start ISO-8601 Z>     start of a conversation
  @ <key> <handle> <band>                  declare a speaker (band: child|teen|adult|unknown)
  ~ <gap>                                  gap before the next message, e.g. 40s, 7m, 3h, 1d2h
  <key>: <text>                            a message
  <key>*: <caption>                        a message carrying a picture (has_image)
  ~ @2025-12-25 10:30                      absolute time of the next message (local time of
                                           the conversation's tz=, or UTC if it ends in Z)
  // comment                               ignored
  A header may end with tz=+1 (the speakers' UTC offset in hours). In such a conversation
  a gap of one or more days (e.g. ~ 3d) lands on the local calendar day N days later at a
  seeded plausible waking hour, rather than at exactly the same clock time.
Timestamps: the assembler only adds small seeded reply delays between messages
(longer when no explicit ~ gap is given and the text is long); explicit gaps are
written by hand where the conversation pauses.
"""
import csv, glob, json, random, re, sys
from datetime import datetime, timedelta, timezone

HERE = __file__.rsplit('/', 1)[0] or '.'
PREFIX = 'negteen'
KINDS = {'stranger_teen': 45, 'teen_friends': 30, 'gamers': 35, 'long_friendly': 20}

def parse_gap(s):
    total = 0
    for n, u in re.findall(r'(\d+)([dhms])', s):
        total += int(n) * {'d': 86400, 'h': 3600, 'm': 60, 's': 1}[u]
    if total == 0:
        raise ValueError('bad gap ' + s)
    return total

def parse():
    convs = []
    cur = None
    for path in sorted(glob.glob(HERE + '/parts/part*.txt')):
        for ln, raw in enumerate(open(path, encoding='utf-8'), 1):
            line = raw.rstrip('\n')
            if not line.strip() or line.startswith('//'):
                continue
            where = f'{path}:{ln}'
            if line.startswith('### '):
                parts = line[4:].split()
                num, kind, start = parts[:3]
                tz = None
                for p in parts[3:]:
                    if p.startswith('tz='):
                        tz = float(p[3:])
                cur = {'num': int(num), 'kind': kind, 'start': start, 'speakers': {},
                       'msgs': [], 'where': where, 'tz': tz}
                convs.append(cur)
                pending_gap = None
                continue
            if line.startswith('@ '):
                key, handle, band = line[2:].split()
                assert band in ('child', 'teen', 'adult', 'unknown'), where
                cur['speakers'][key] = (handle, band)
                continue
            if line.startswith('~ @'):
                v = line[3:].strip()
                if v.endswith('Z'):
                    at = datetime.strptime(v, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc)
                else:
                    assert cur['tz'] is not None, where
                    at = (datetime.strptime(v, '%Y-%m-%d %H:%M') - timedelta(hours=cur['tz'])).replace(tzinfo=timezone.utc)
                cur['msgs'].append(('AT', at, where))
                continue
            if line.startswith('~ '):
                g = line[2:].strip()
                cur['msgs'].append(('GAP', parse_gap(g), 'd' in g))
                continue
            m = re.match(r'^([A-Za-z0-9]+)(\*?): ?(.*)$', line)
            if not m or m.group(1) not in cur['speakers']:
                sys.exit(f'unparsable line {where}: {line!r}')
            cur['msgs'].append((m.group(1), m.group(2) == '*', m.group(3)))
    return convs


def simulate(items, t, prev_sender, first, tz, scale, seed):
    """Timestamps for a run of items (no anchors inside). Day-scale gaps are multiplied
    by `scale` and then placed at a plausible local hour."""
    rng = random.Random(seed)
    times, gap, pinned = [], None, False
    for item in items:
        if item[0] == 'PIN':
            pinned = True
            continue
        if item[0] == 'GAP':
            gap = item[1]
            if item[2]:
                gap *= scale
                if tz is not None:
                    off = timedelta(hours=tz)
                    local = t + off + timedelta(seconds=gap)
                    hh = rng.uniform(9.0, 15.0) if rng.random() < 0.25 else rng.uniform(15.0, 22.5)
                    local = local.replace(hour=0, minute=0, second=0) + timedelta(hours=hh, seconds=rng.randint(0, 59))
                    gap = max(600, (local - off - t).total_seconds())
            continue
        key, img, text = item
        if pinned:
            pinned = False
        elif not first:
            if gap is None:
                if key == prev_sender:
                    gap = rng.uniform(2, 9) + len(text) * rng.uniform(0.15, 0.35)
                else:
                    gap = rng.uniform(4, 30) + len(text) * rng.uniform(0.2, 0.5)
                    if rng.random() < 0.05:
                        gap += rng.uniform(60, 300)
            t = t + timedelta(seconds=max(1, int(gap)))
        first, gap, prev_sender = False, None, key
        times.append(t)
    return times, t, prev_sender

def schedule(c, cid):
    """Split at absolute anchors; in each stretch before an anchor, scale the hand-written
    day gaps so the stretch ends shortly before the anchor (searching the scale)."""
    segs, cur = [], []
    for it in c['msgs']:
        if it[0] == 'AT':
            segs.append((cur, it)); cur = []
        else:
            cur.append(it)
    segs.append((cur, None))
    t = datetime.strptime(c['start'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc)
    times, prev, first = [], None, True
    for n, (items, anchor) in enumerate(segs):
        seed = c['num'] * 7919 + n
        if anchor is not None:
            # the anchor applies to the first message after it: it's the first item of the next segment
            has_day = any(i[0] == 'GAP' and i[2] for i in items)
            lo, hi, best, best_slack = 0.02, 60.0, None, None
            for _ in range(80):
                sc = (lo * hi) ** 0.5 if has_day else 1.0
                ts, tend, ps = simulate(items, t, prev, first, c['tz'], sc, seed)
                slack = (anchor[1] - tend).total_seconds()
                if slack > 0 and (best_slack is None or slack < best_slack):
                    best, best_slack = (ts, tend, ps), slack
                if not has_day or 0 < slack < 20 * 3600:
                    break
                if slack <= 0: hi = sc
                else: lo = sc
            if best is None:
                best = (ts, tend, ps)
            ts, tend, ps = best
            if tend >= anchor[1]:
                sys.exit(f'{cid}: cannot fit stretch before anchor {anchor[1]} ({anchor[2]}), ends {tend}')
            times += ts; prev = ps; first = False if ts else first
            t = anchor[1]
            # mark that the next message must sit exactly at the anchor
            nxt = segs[n + 1][0]
            segs[n + 1] = ([('PIN',)] + nxt, segs[n + 1][1])
        else:
            ts, tend, ps = simulate(items, t, prev, first, c['tz'], 1.0, seed)
            times += ts; prev = ps; t = tend
    return times

def build():
    convs = parse()
    nums = [c['num'] for c in convs]
    assert len(nums) == len(set(nums)), 'duplicate conversation numbers'
    out, labels = [], []
    rng_split = random.Random(20260314)
    by_kind = {}
    for c in convs:
        by_kind.setdefault(c['kind'], []).append(c)
    split = {}
    for kind, cs in by_kind.items():
        ids = [c['num'] for c in cs]
        rng_split.shuffle(ids)
        for i, n in enumerate(ids):
            split[n] = 'dev' if i % 2 == 0 else 'test'
    stats = {}
    for c in sorted(convs, key=lambda c: c['num']):
        cid = f'{PREFIX}-{c["num"]:04d}'
        times = schedule(c, cid)
        k = 0
        used = set()
        for item, t in zip([i for i in c['msgs'] if i[0] not in ('GAP', 'AT')], times):
            key, img, text = item
            used.add(key)
            k += 1
            handle, band = c['speakers'][key]
            rec = {'conversation_id': cid, 'message_id': f'{cid}-m{k:03d}', 'sender_id': handle,
                   'sent_at': t.strftime('%Y-%m-%dT%H:%M:%SZ'), 'text': text,
                   'sender_age_band': band}
            if img:
                rec['has_image'] = True
            out.append(rec)
        assert used == set(c['speakers']), f'{cid}: declared speakers unused {set(c["speakers"]) - used}'
        assert len(used) >= 2, cid
        labels.append((cid, 0, c['kind'], '', split[c['num']]))
        s = stats.setdefault(c['kind'], {'convs': 0, 'msgs': 0, 'words': 0, 'dev': 0, 'test': 0})
        s['convs'] += 1; s['msgs'] += k; s[split[c['num']]] += 1
        s['words'] += sum(len(i[2].split()) for i in c['msgs'] if i[0] not in ('GAP', 'AT'))
    with open(HERE + '/conversations.jsonl', 'w', encoding='utf-8') as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')
    with open(HERE + '/labels.csv', 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['conversation_id', 'label', 'kind', 'groomer_id', 'split'])
        w.writerows(labels)
    return stats, convs

def validate():
    ids, last = set(), {}
    convs_seen = []
    pairs = {}
    for ln, line in enumerate(open(HERE + '/conversations.jsonl', encoding='utf-8'), 1):
        r = json.loads(line)
        for fld in ('conversation_id', 'message_id', 'sender_id', 'sent_at', 'text', 'sender_age_band'):
            assert fld in r, (ln, fld)
        assert r['message_id'] not in ids, r['message_id']
        ids.add(r['message_id'])
        assert r['sender_age_band'] in ('child', 'teen', 'adult', 'unknown')
        assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', r['sent_at'])
        c = r['conversation_id']
        assert c.startswith(PREFIX + '-')
        if c not in last:
            convs_seen.append(c)
        else:
            assert r['sent_at'] > last[c], (c, r['message_id'])
        last[c] = r['sent_at']
        pairs.setdefault(c, set()).add(r['sender_id'])
    lab = list(csv.DictReader(open(HERE + '/labels.csv', encoding='utf-8')))
    assert [l['conversation_id'] for l in lab] == convs_seen
    for l in lab:
        assert l['label'] == '0' and l['groomer_id'] == '' and l['split'] in ('dev', 'test')
    # handles: different set per conversation
    seen_h = {}
    for c, hs in pairs.items():
        for h in hs:
            if h in seen_h:
                print(f'WARNING: handle {h} reused in {seen_h[h]} and {c}')
            seen_h[h] = c
    return len(ids), len(lab)

if __name__ == '__main__':
    stats, convs = build()
    n, nc = validate()
    tot_m = sum(s['msgs'] for s in stats.values()); tot_w = sum(s['words'] for s in stats.values())
    for k, s in stats.items():
        print(k, s)
    print('conversations', nc, 'messages', n, 'words', tot_w)
    for c in convs:
        if c['kind'] == 'long_friendly':
            nm = sum(1 for i in c['msgs'] if i[0] not in ('GAP', 'AT'))
            nw = sum(len(i[2].split()) for i in c['msgs'] if i[0] not in ('GAP', 'AT'))
            print('  long', c['num'], nm, 'msgs', nw, 'words')

"""Assemble the hand-written German translations in src/*.txt into conversations.jsonl + labels.csv
and validate them against the English source.

src/<source_id>.txt holds one line per message: "<index> <speaker letter>: <German text>".
The speaker letters follow the order in which senders first appear in the source conversation
(see dump.py). Everything except the text (sender_id, sent_at, sender_age_band, has_image) is
copied from the source message with the same index. The script writes no text of its own.
"""
import json, csv, re, sys, os, collections
from dump import load, letters

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)
LINE = re.compile(r'^(\d+) ([A-Z]):\s?(.*)$')

sel = list(csv.DictReader(open('selection.csv')))
cache = {}
errors, warnings = [], []
out_msgs, out_labels, missing = [], [], []
for row in sel:
    src, cid = row['source'], row['conversation_id']
    path = f'src/{cid}.txt'
    if not os.path.exists(path):
        missing.append(cid); continue
    if src not in cache:
        cache[src] = load(src)
        cache[src + '_labels'] = {r['conversation_id']: r for r in csv.DictReader(open(f'../{src}/labels.csv'))}
    msgs = cache[src][cid]
    L = letters(msgs)
    lines = [l.rstrip('\n') for l in open(path, encoding='utf-8') if l.strip()]
    if len(lines) != len(msgs):
        errors.append(f'{cid}: {len(lines)} lines vs {len(msgs)} source messages')
    for i, (l, m) in enumerate(zip(lines, msgs)):
        mm = LINE.match(l)
        if not mm:
            errors.append(f'{cid}: bad line {l!r}'); continue
        idx, who, text = int(mm.group(1)), mm.group(2), mm.group(3).strip()
        if idx != i:
            errors.append(f'{cid}: index {idx} at position {i}')
        if who != L[m['sender_id']]:
            errors.append(f'{cid}#{i}: speaker {who} but source is {L[m["sender_id"]]}')
        if text.startswith('[IMG]'):
            text = text[5:].strip()
            if not m.get('has_image'):
                errors.append(f'{cid}#{i}: [IMG] on a message without image')
        if not text and m['text'].strip():
            errors.append(f'{cid}#{i}: empty translation of non-empty source')
        if text and text == m['text'].strip() and len(text.split()) >= 4:
            warnings.append(f'{cid}#{i}: identical to source: {text!r}')
        o = {'conversation_id': 'de-' + cid, 'message_id': 'de-' + m['message_id'],
             'sender_id': m['sender_id'], 'sent_at': m['sent_at'], 'text': text,
             'sender_age_band': m['sender_age_band']}
        if m.get('has_image'):
            o['has_image'] = True
        out_msgs.append(o)
    lab = cache[src + '_labels'][cid]
    assert lab['kind'] == row['kind'] and lab['split'] == row['split']
    out_labels.append({'conversation_id': 'de-' + cid, 'label': lab['label'], 'kind': lab['kind'],
                       'groomer_id': lab['groomer_id'], 'split': lab['split'], 'source_id': cid})

with open('conversations.jsonl', 'w', encoding='utf-8') as f:
    for o in out_msgs:
        f.write(json.dumps(o, ensure_ascii=False) + '\n')
with open('labels.csv', 'w', newline='', encoding='utf-8') as f:
    w = csv.DictWriter(f, fieldnames=['conversation_id', 'label', 'kind', 'groomer_id', 'split', 'source_id'])
    w.writeheader(); w.writerows(out_labels)

# ---- validation of the written files ----
ids, convs = set(), collections.Counter()
for n, l in enumerate(open('conversations.jsonl', encoding='utf-8')):
    o = json.loads(l)
    if o['message_id'] in ids: errors.append(f'duplicate message id {o["message_id"]}')
    ids.add(o['message_id']); convs[o['conversation_id']] += 1
labs = list(csv.DictReader(open('labels.csv', encoding='utf-8')))
labset = {r['conversation_id'] for r in labs}
if len(labset) != len(labs): errors.append('duplicate conversation in labels.csv')
for c in convs:
    if c not in labset: errors.append(f'{c} missing from labels.csv')
for r in labs:
    src = r['source_id'].split('-')[0]
    if convs[r['conversation_id']] != len(cache[src][r['source_id']]):
        errors.append(f'{r["conversation_id"]}: count mismatch')
# groomer must be a speaker; fields must match the source message exactly (except text)
spk = collections.defaultdict(set)
for o in out_msgs: spk[o['conversation_id']].add(o['sender_id'])
for r in labs:
    if r['groomer_id'] and r['groomer_id'] not in spk[r['conversation_id']]:
        errors.append(f'{r["conversation_id"]}: groomer_id not a speaker')

for w_ in warnings: print('WARN', w_)
for e in errors: print('ERR ', e)
cnt = collections.Counter((r['label'], r['kind'], r['split']) for r in labs)
print(f'done: {len(labs)} conversations, {len(out_msgs)} messages; missing {len(missing)}')
if '-v' in sys.argv:
    for k, v in sorted(cnt.items()): print('  ', k, v)
sys.exit(1 if errors else 0)

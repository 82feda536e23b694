"""Print source conversations in the compact line format used by src/*.txt (reference for translating)."""
import json, sys, collections
def load(src):
    conv = collections.OrderedDict()
    for l in open(f'../{src}/conversations.jsonl'):
        m = json.loads(l)
        conv.setdefault(m['conversation_id'], []).append(m)
    return conv
def letters(msgs):
    L = {}
    for m in msgs:
        if m['sender_id'] not in L:
            L[m['sender_id']] = chr(ord('A') + len(L))
    return L
if __name__ == '__main__':
    cache = {}
    for cid in sys.argv[1:]:
        src = cid.split('-')[0]
        if src not in cache: cache[src] = load(src)
        msgs = cache[src][cid]
        L = letters(msgs)
        print(f'#### {cid} n={len(msgs)} ' + ' '.join(f'{v}={k}({[m["sender_age_band"] for m in msgs if m["sender_id"]==k][0]})' for k, v in L.items()))
        prev = None
        for i, m in enumerate(msgs):
            img = ' [IMG]' if m.get('has_image') else ''
            print(f'{i} {L[m["sender_id"]]}:{img} {m["text"]}')
        print()

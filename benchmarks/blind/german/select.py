"""Pick the subset of blind English conversations to translate (seeded, reproducible)."""
import json, csv, random, collections
SRC = ['groomA', 'groomB', 'negteen', 'negadult']
# per source: kind -> number per split
PLAN = {
    'groomA':  {'fast': 3, 'no_age_stated': 5, 'peer_pretender': 3, 'slow_build': 4},
    'groomB':  {'messenger_long': 3, 'help_and_trust': 4, 'meetup': 4, 'mixed_signals': 4},
    'negteen': {'stranger_teen': 12, 'teen_friends': 11, 'gamers': 7},
    'negadult': {'adult_flirt': 13, 'irc_group': 11, 'family_care': 6},
}
rng = random.Random(20260604)
out = []
for d in SRC:
    n = collections.Counter(json.loads(l)['conversation_id'] for l in open(f'../{d}/conversations.jsonl'))
    labs = list(csv.DictReader(open(f'../{d}/labels.csv')))
    for kind, k in PLAN[d].items():
        for split in ('dev', 'test'):
            pool = [r['conversation_id'] for r in labs
                    if r['kind'] == kind and r['split'] == split and 20 <= n[r['conversation_id']] <= 120]
            pick = sorted(rng.sample(pool, k))
            for c in pick:
                out.append((d, c, kind, split, n[c]))
with open('selection.csv', 'w') as f:
    f.write('source,conversation_id,kind,split,n_messages\n')
    for row in out:
        f.write(','.join(map(str, row)) + '\n')
tot = collections.Counter(); cnt = collections.Counter()
for d, c, kind, split, m in out:
    tot[d] += m; cnt[(d, split)] += 1
print(len(out), dict(tot), sum(tot.values()), dict(cnt))

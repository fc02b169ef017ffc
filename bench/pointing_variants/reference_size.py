import pickle, sys; sys.argv = ['x', '1']
exec(open('bench/pointing_variants/cam_flipfix.py').read().split("\nif __name__")[0])
val = pd.read_csv(demo_root/'val.csv'); allc = [str(demo_root/p) for p in val[val.label == 1].image]
tr = pd.read_csv(demo_root/'train.csv'); trc = [str(demo_root/p) for p in tr[tr.label == 1].image.head(96)]
print('val Clean', len(allc))
OFFS = [(-0.8,-0.2),(-3.4,-3.2),(-6.6,-5.1),(-3.,-1.5)]
U, M, p = maps_of(allc, offsets=OFFS); U2, M2, _ = maps_of(trc, offsets=OFFS)
pickle.dump(dict(U=U.half(), M=M.half(), U2=U2.half(), M2=M2.half()), open(work/'camview_off_refall.pkl', 'wb'))
exec(open('bench/pointing_variants/occ_eval.py').read().split('\nif __name__')[0])
from artifact_fastai.interpret import reference_score
for s in (1, 2):
    c = pickle.load(open(work/f'camview_off_{s}.pkl', 'rb')); b = c['boxes']; raw = (0.5 * c['U'] + 0.5 * c['M']).float().sum(1)
    for name, rr in ((f'val Clean, first 32', (0.5 * U[:32] + 0.5 * M[:32]).float().sum(1)), (f'all {len(allc)} val Clean', (0.5 * U + 0.5 * M).float().sum(1)),
                     ('96 train Clean', (0.5 * U2 + 0.5 * M2).float().sum(1))):
        line(f'seed {s} reference {name}', reference_score(raw, torch.stack([rr.mean(0), rr.std(0)]), 2.0), b)

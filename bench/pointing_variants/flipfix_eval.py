"Scratch (session 10, issue 19): score the flip-fixed CAM (cam_flipfix.py caches). python bench/pointing_variants/flipfix_eval.py SEED"
import sys, pickle
exec(open('bench/pointing_variants/occ_eval.py').read().split('if __name__')[0])
from artifact_fastai.interpret import reference_score
s = sys.argv[1]
TAG = os.environ.get('TAG', '')
c = pickle.load(open(work/f'camview{TAG}_{s}.pkl', 'rb')); r = pickle.load(open(work/f'camview{TAG}_ref.pkl', 'rb')); b = c['boxes']
def z_of(U, M, Ur, Mr, levels=None, floor=2.0, wm=0.5):
    sel = slice(None) if levels is None else levels
    raw = ((1 - wm) * U[:, sel] + wm * M[:, sel]).float().sum(1); ref = ((1 - wm) * Ur[:, sel] + wm * Mr[:, sel]).float().sum(1)
    return reference_score(raw, torch.stack([ref.mean(0), ref.std(0)]), floor)
print(f'seed {s}')
old = pickle.load(open(work/f'cam_{s}.pkl', 'rb'))
line('session 9 CAM z (flip cells misplaced)', old['z'].float(), b)
line('flip fixed, z floor 2', z_of(c['U'], c['M'], r['U'], r['M']), b)
for f in (1, 1.5, 3): line(f'flip fixed, z floor {f}', z_of(c['U'], c['M'], r['U'], r['M'], floor=f), b)
line('flip fixed, mean only', z_of(c['U'], c['M'], r['U'], r['M'], floor=None), b)
line('unmirrored view only, z floor 2', z_of(c['U'], c['M'], r['U'], r['M'], wm=0.), b)
line('mirrored view only, z floor 2', z_of(c['U'], c['M'], r['U'], r['M'], wm=1.), b)
for lv in ([1, 2, 3], [2, 3], [2], [0, 1, 2]): line(f'flip fixed, levels {lv}', z_of(c['U'], c['M'], r['U'], r['M'], levels=lv), b)
z = z_of(c['U'], c['M'], r['U'], r['M'])
idx = z.flatten(1).argmax(1).numpy(); py, px = idx // 160, idx % 160
print('median dy', np.median(py - (b.y.values + b.h.values / 2 - .5)), 'dx', np.median(px - (b.x.values + b.w.values / 2 - .5)))
for sh in (-6, -4, -2): line(f'flip fixed, map moved {sh} px in y', torch.roll(z, sh, 1), b)

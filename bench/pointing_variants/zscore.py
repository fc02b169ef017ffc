import sys, pickle, warnings; warnings.filterwarnings('ignore')
exec(open('bench/pointing_variants/shifts_levels.py').read().split("score('no shift'")[0])
import numpy as np
def maps_of(M, sh=(0, 0), levels=None, offset=0.):
    parts = M[sh]; ks = range(len(parts)) if levels is None else levels
    return [spread_cells(parts[k], (H, W), offset) for k in ks]
def evaluate(name, m):
    interp._maps = dict(enumerate(_relu_minmax(m)))
    res = [pointing_game(interp, boxes, tolerance=t).hit.mean() for t in (0, 8, 15)]
    kinds = boxes.kind.values; h = pointing_game(interp, boxes).hit.to_numpy()
    print(f"{name:45s} strict {res[0]:.3f}  8px {res[1]:.3f}  15px {res[2]:.3f}  | " + ' '.join(f'{k} {h[kinds == k].mean():.2f}' for k in sorted(set(kinds))), flush=True)
    return h
lv = maps_of(L); rv = maps_of(R)
m, r = sum(lv), sum(rv)
h = evaluate('baseline (sum, minus mean)', m - r.mean(0))
for eps in (0.5, 1, 2):
    sd = r.std(0); evaluate(f'z-score, sd floor {eps} x median', (m - r.mean(0)) / sd.clamp_min(eps * sd.median()))
# per-level z then sum
for eps in (0.5, 1.0):
    z = sum((a - b.mean(0)) / b.std(0).clamp_min(eps * b.std(0).median()) for a, b in zip(lv, rv)); evaluate(f'per-level z sum, floor {eps}', z)
# miss analysis
pg = pointing_game(interp, boxes) if False else None
interp._maps = dict(enumerate(_relu_minmax(m - r.mean(0))))
pg = pointing_game(interp, boxes)
pg['kind'] = boxes.kind.values; pg['w'] = boxes.w.values; pg['h'] = boxes.h.values; pg['p'] = interp.prob_artifact
bx = boxes.reset_index(drop=True)
d = np.maximum(np.maximum(bx.x - pg.peak_x, pg.peak_x - (bx.x + bx.w - 1)), 0)**2 + np.maximum(np.maximum(bx.y - pg.peak_y, pg.peak_y - (bx.y + bx.h - 1)), 0)**2
pg['dist'] = np.sqrt(d)
print(pg.groupby('kind')[['hit', 'w', 'h', 'p', 'dist']].mean().round(2))
print('hit | p>0.5:', pg[pg.p > 0.5].hit.mean(), (pg.p > 0.5).sum(), ' hit | p<=0.5:', pg[pg.p <= 0.5].hit.mean())
border = (pg.peak_x < 8) | (pg.peak_y < 8) | (pg.peak_x >= 152) | (pg.peak_y >= 152)
print('misses at border', (border & ~pg.hit).sum(), 'of', (~pg.hit).sum())
print(pg[~pg.hit].dist.describe())

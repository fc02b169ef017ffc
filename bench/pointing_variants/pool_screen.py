"Scratch (session 11, issue 19): screen pooling statistics and head settings of the probe on the cached level maps (`pool_cache.py`): demo val/test AUC, and on seeds 1 and 2 the AUC and detection rate (P(Artifact) above the val threshold) per kind. python bench/pointing_variants/pool_screen.py VARIANT [VARIANT...]"
import os, sys, time, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from sklearn.metrics import roc_auc_score
from artifact_fastai.probe import fit_fused_head, head_proba, channel_correlations
from artifact_fastai.metrics import choose_threshold
from artifact_fastai.synth import artifact_regions

CACHE = Path(os.environ.get('CACHE', '/tmp/s11/cache'))
LEVELS = 4

def lse(m, r):  # (1/r) log mean_p exp(r m): between the mean (r -> 0) and the max (r -> inf)
    f = m.flatten(2); return (torch.logsumexp(r * f, 2) - np.log(f.shape[2])) / r

def grid(m, g):  # channel means over a g x g grid of the map (spatial pyramid level)
    return torch.nn.functional.adaptive_avg_pool2d(m, g).flatten(1)

def selfsim(m, *a, **k): return torch.cat([_selfsim(c, *a, **k) for c in m.split(32)])

def _selfsim(m, d=2, centre=True, weight=False, top=(1, 4, 16)):
    "Copy-move evidence (BusterNet's self-correlation, Wu et al. 2018): the highest cosine similarities between feature vectors of positions more than `d` cells apart."
    N, C, h, w = m.shape; f = m.flatten(2)
    if centre: f = f - f.mean(2, keepdim=True)
    n = f.norm(dim=1).clamp_min(1e-6); z = f / n[:, None]
    S = z.transpose(1, 2) @ z  # (N, P, P)
    if weight: r = n / n.median(1, keepdim=True).values; S = S * torch.minimum(r[:, :, None], r[:, None, :]).clamp(max=1)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij'); yy, xx = yy.flatten(), xx.flatten()
    near = ((yy[:, None] - yy[None]).abs() <= d) & ((xx[:, None] - xx[None]).abs() <= d)
    S = S.masked_fill(near, -2).flatten(1)
    v = S.topk(2 * max(top), 1).values[:, ::2]  # each pair appears twice
    return torch.stack([v[:, :k].mean(1) for k in top], 1)

def kth(m, k): f = m.flatten(2); return f.topk(k, 2).values[:, :, k - 1]

STATS = {'k2': lambda m: kth(m, 2), 'k3': lambda m: kth(m, 3), 'k5': lambda m: kth(m, 5),
'ss': lambda m: selfsim(m), 'ssw': lambda m: selfsim(m, weight=True), 'ss1': lambda m: selfsim(m, d=1), 'ssnc': lambda m: selfsim(m, centre=False),
         'ssw4': lambda m: selfsim(m, d=4, weight=True),
'mean': lambda m: m.mean((2, 3)), 'std': lambda m: m.std((2, 3), correction=0),
         'max': lambda m: m.amax((2, 3)), 'min': lambda m: m.amin((2, 3)),
         'lse1': lambda m: lse(m, 1.), 'lse3': lambda m: lse(m, 3.), 'lse10': lambda m: lse(m, 10.),
         'zmax': lambda m: ((m - m.mean((2, 3), keepdim=True)) / m.std((2, 3), keepdim=True, correction=0).clamp_min(1e-6)).amax((2, 3)),
         'g2': lambda m: grid(m, 2), 'g3': lambda m: grid(m, 3)}

def parse(v):
    "VARIANT: 'name:stat@levels+stat@levels,...;corr@3;wd=0.5' e.g. 'base:mean@1234+std@1234+corr@3'."
    name, spec = v.split(':'); parts, opts = [], {}
    for p in spec.split('+'):
        if '=' in p: k, x = p.split('='); opts[k] = float(x); continue
        s, lv = p.split('@'); parts.append((s, [int(c) for c in lv]))
    return name, parts, opts

def features(d, parts):
    "Per backbone, view-averaged pooled features (as FeatureProbe.features with flip)."
    maps, nb = d['maps'], len(d['maps']) // 2
    blocks = []
    for b in range(nb):
        views = []
        for v in (b, b + nb):
            cols = []
            for s, lv in parts:
                for l in lv:
                    m = maps[v][l - 1].float()
                    cols.append(channel_correlations(m) if s == 'corr' else STATS[s](m))
            views.append(torch.cat(cols, 1))
        blocks.append(torch.cat(views) if VIEWS_AS_ROWS else (views[0] + views[1]) / 2)
    return blocks

VIEWS_AS_ROWS = False

def kinds_of(d):
    reg = artifact_regions(d['root']); reg = reg[~reg.index.duplicated()]
    return np.array([reg.kind.get(p, 'clean') if l == 0 else 'clean' for p, l in zip(d['path'], d['label'])])

sets = {k: torch.load(CACHE/f'{k}.pt', weights_only=False) for k in ('demo', '1', '2') if (CACHE/f'{k}.pt').is_file()}
kinds = {k: kinds_of(d) for k, d in sets.items()}
for v in sys.argv[1:]:
    name, parts, opts = parse(v); t = time.perf_counter()
    F = {k: features(d, parts) for k, d in sets.items()}
    if opts.get('rows'):  # train on each view as its own row; evaluate on the view average
        VIEWS_AS_ROWS = True; Fr = features(sets['demo'], parts); VIEWS_AS_ROWS = False
        Xr = torch.cat(Fr, 1).numpy(); nd = len(sets['demo']['label'])
    dm, sp = sets['demo'], sets['demo']['split']
    X = {k: torch.cat(f, 1).numpy() for k, f in F.items()}
    ends = np.cumsum([f.shape[1] for f in F['demo']]); blocks = [slice(int(e) - f.shape[1], int(e)) for e, f in zip(ends, F['demo'])]
    y = dm['label']
    Xtr, ytr = (X['demo'][sp == 'train'], y[sp == 'train']) if not opts.get('rows') else (
        np.concatenate([Xr[:nd][sp == 'train'], Xr[nd:][sp == 'train']]), np.concatenate([y[sp == 'train']] * 2))
    if opts.get('copies'):  # product-default features of the blur/JPEG and rescaled copies of the train rows (`copies_cache.py`)
        c = np.load(CACHE/'copies_blur_jpeg_rescale.npz'); n = len(c['y']) // 2
        keep = {1: slice(None), 2: slice(0, n), 3: slice(n, None)}[int(opts['copies'])]  # 1 both, 2 blur/JPEG, 3 rescale
        Xtr, ytr = np.concatenate([Xtr, c['X'][keep]]), np.concatenate([ytr, c['y'][keep]])
    head = fit_fused_head(Xtr, ytr, X['demo'][sp == 'val'], y[sp == 'val'], blocks,
                          epochs=int(opts.get('epochs', 30)), lr=opts.get('lr', 1e-3), wd=opts.get('wd', 0.5), seed=0)
    P = {k: head_proba(head, X[k]) for k in sets}
    pa = lambda k, sel: P[k][sel]
    thr = float(choose_threshold(y[sp == 'val'], P['demo'][sp == 'val'], method='youden'))
    auc = lambda yy, pp: roc_auc_score(yy == 0, pp)
    line = [f"{name}: n_feat {X['demo'].shape[1]}, demo val {auc(y[sp == 'val'], P['demo'][sp == 'val']):.3f} test {auc(y[sp == 'test'], P['demo'][sp == 'test']):.3f}"]
    for k in ('1', '2'):
        if k not in sets: continue
        yk, kk = sets[k]['label'], kinds[k]
        det = {q: (P[k][kk == q] > thr).mean() for q in ('feature', 'seam')}
        pk = {q: auc(yk[(kk == q) | (yk == 1)], P[k][(kk == q) | (yk == 1)]) for q in ('feature', 'seam')}
        line.append(f"seed{k} AUC {auc(yk, P[k]):.3f} det {(P[k][yk == 0] > thr).mean():.2f} fp {(P[k][yk == 1] > thr).mean():.2f} | "
                    f"feature AUC {pk['feature']:.2f} det {det['feature']:.2f} | seam AUC {pk['seam']:.2f} det {det['seam']:.2f}")
    print(' ; '.join(line), f'({time.perf_counter() - t:.0f} s)', flush=True)

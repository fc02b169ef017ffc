"Scratch (session 12, issue 19): does more training data raise the probe's detection of 'feature' and 'seam'? The product head refitted on 50 / 75 / 100% of the demo's train rows, and on them plus all 400 images of one separate seed set, evaluated on the other seed (AUC / detection rate at the val Youden threshold, per kind). Needs `pool_cache.py demo|1|2` (160 px caches in CACHE=/tmp/s11/cache) and DEMO_ROOT, the 160-px demo set they came from (`experiment.demo_data(DEMO_ROOT, size=160)`). OMP_NUM_THREADS=2 PYTHONPATH=$PWD .venv/bin/python bench/pointing_variants/learning_curve.py"
import sys, numpy as np, torch
sys.argv = ['x']
exec(open('bench/pointing_variants/pool_screen.py').read().split("sets = {")[0])
sets = {k: torch.load(CACHE/f'{k}.pt', weights_only=False) for k in ('demo', '1', '2')}
sets['demo']['root'] = os.environ.get('DEMO_ROOT', sets['demo']['root'])  # the 160-px demo set the cache was made from
kinds = {k: kinds_of(d) for k, d in sets.items()}
parts = [(s, [l]) for l in (1, 2, 3, 4) for s in ('mean', 'std')] + [('corr', [3])]
F = {k: features(d, parts) for k, d in sets.items()}
X = {k: torch.cat(f, 1).numpy() for k, f in F.items()}
ends = np.cumsum([f.shape[1] for f in F['demo']]); blocks = [slice(int(e) - f.shape[1], int(e)) for e, f in zip(ends, F['demo'])]
dm, sp, y = sets['demo'], sets['demo']['split'], sets['demo']['label']
auc = lambda yy, pp: roc_auc_score(yy == 0, pp)
rng = np.random.default_rng(0)
tr = np.flatnonzero(sp == 'train')
for extra in (None, '1', '2'):
    ev = [k for k in ('1', '2') if k != extra]
    for frac in ((0.5, 0.75, 1.0) if extra is None else (1.0,)):
        idx = np.sort(rng.choice(tr, int(len(tr) * frac), replace=False)) if frac < 1 else tr
        Xtr, ytr = X['demo'][idx], y[idx]
        if extra: Xtr, ytr = np.concatenate([Xtr, X[extra]]), np.concatenate([ytr, sets[extra]['label']])
        head = fit_fused_head(Xtr, ytr, X['demo'][sp == 'val'], y[sp == 'val'], blocks, epochs=30, lr=1e-3, wd=0.5, seed=0)
        pv = head_proba(head, X['demo'][sp == 'val']); thr = float(choose_threshold(y[sp == 'val'], pv, method='youden'))
        line = [f"train demo x{frac} + {extra}: n={len(ytr)} art={int((ytr == 0).sum())}"]
        for k in ev:
            P, yk, kk = head_proba(head, X[k]), sets[k]['label'], kinds[k]
            s = f"seed{k} AUC {auc(yk, P):.3f} det {(P[yk == 0] > thr).mean():.2f} fp {(P[yk == 1] > thr).mean():.2f}"
            for q in ('feature', 'seam', 'tattoo', 'mask'):
                sel = (kk == q) | (yk == 1)
                s += f" | {q} {auc(yk[sel], P[sel]):.2f}/{(P[kk == q] > thr).mean():.2f}"
            line.append(s)
        print(' ; '.join(line), flush=True)

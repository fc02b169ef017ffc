"Scratch (session 11, issue 19): a demo probe (product features: level means, stds, stride-16 correlations) whose head is refitted on cached features (`pool_cache.py`, `copies_cache.py`), saved for `pointing_one.py`. python bench/pointing_variants/make_probe.py OUT [copies=1] [rows=1] [wd=W] [epochs=E] [seeds=K]  (env CACHE, SIZE, RESIZE as for the cache)"
import os, sys, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
sys.argv, out, opts = ['x'], sys.argv[1], dict(a.split('=') for a in sys.argv[2:])
exec(open('bench/pointing_variants/pool_screen.py').read().split("sets = {")[0])
from artifact_fastai.probe import feature_probe, set_head, probe_metrics, probe_dataloaders, save_probe, feature_blocks
from artifact_fastai.metrics import choose_threshold
d = torch.load(CACHE/'demo.pt', weights_only=False)
parts = [(s, [l]) for l in (1, 2, 3, 4) for s in ('mean', 'std')] + [('corr', [3])]  # the product's column order
X, y, sp = torch.cat(features(d, parts), 1).numpy(), d['label'], d['split']
model = feature_probe(); assert X.shape[1] == model.n_features
Xtr, ytr = X[sp == 'train'], y[sp == 'train']
if opts.get('rows'):  # each view its own training row (evaluation: the view average, as the product)
    VIEWS_AS_ROWS = True; Xr = torch.cat(features(d, parts), 1).numpy(); VIEWS_AS_ROWS = False; nd = len(y)
    Xtr, ytr = np.concatenate([Xr[:nd][sp == 'train'], Xr[nd:][sp == 'train']]), np.concatenate([ytr, ytr])
if opts.get('copies'):
    c = np.load(CACHE/'copies_blur_jpeg_rescale.npz'); Xtr, ytr = np.concatenate([Xtr, c['X']]), np.concatenate([ytr, c['y']])
fit = lambda seed: fit_fused_head(Xtr, ytr, X[sp == 'val'], y[sp == 'val'], feature_blocks(model), epochs=int(opts.get('epochs', 30)),
                                  lr=1e-3, wd=float(opts.get('wd', 0.5)), seed=seed)
heads = [fit(s) for s in range(int(opts.get('seeds', 1)))]  # seeds=K: the mean of K heads (same standardisation; linear, so the mean of their logits)
head = {**heads[0], 'weight': torch.stack([h['weight'] for h in heads]).mean(0), 'bias': torch.stack([h['bias'] for h in heads]).mean(0)}
set_head(model, head)
m, t = probe_metrics({s: (X[sp == s], y[sp == s]) for s in ('train', 'val', 'test')}, head)
dls = probe_dataloaders(Path(d['root']), size=int(os.environ.get('SIZE', 160)), bs=32, resize=os.environ.get('RESIZE', 'native'), seed=0, check=False)  # as the cache
save_probe(model, dls, out, t, metrics=m, force=True)
print(out, {k: round(m[k], 3) for k in ('val_auc', 'test_auc', 'threshold')})

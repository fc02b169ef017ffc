"Scratch (session 11, issue 19): the probe with channel maxima of some levels beside the product's means, stds and stride-16 correlations, the max's exact share put on its argmax cell; head refitted on cached maps (`pool_cache.py`), then the product's pointing game on seed sets. python bench/pointing_variants/max_pool_cam.py LEVELS SEED [SEED...]  e.g. 34 1 2  (env MODEL_DIR: the demo probe folder, DEMO_ROOT)"
import os, sys, time, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
import artifact_fastai.probe as P
from artifact_fastai.core import ARTIFACT
from artifact_fastai.kinds import load_detector
from artifact_fastai.detector import Detector
from artifact_fastai.interpret import GradCAMInterpretation, pointing_game
from artifact_fastai.experiment import demo_data
from artifact_fastai.synth import artifact_regions
max_levels, seeds = [int(c) for c in sys.argv[1]], [int(s) for s in sys.argv[2:]]
argv = sys.argv; sys.argv = ['x']
exec(open('bench/pointing_variants/pool_screen.py').read().split("sets = {")[0])

class MaxBody(P.PooledBody):
    "PooledBody + channel maxima of `max_levels`, appended after the correlations."
    def __init__(self, body, levels, gram_levels, max_levels):
        super().__init__(body, levels, gram_levels); self.max_idx = [list(levels).index(l) for l in max_levels]
        self.n_features += sum(body.feature_info.channels()[i] for i in self.max_idx)
    def forward(self, x):
        maps = self.body(x)
        return torch.cat([P.pooled_levels(maps)] + [P.channel_correlations(maps[i]) for i in self.gram_idx] + [maps[i].float().amax((2, 3)) for i in self.max_idx], 1)

_orig = P.body_contributions
def body_contributions(body, x, v):
    "The product's shares plus each channel maximum's v_c x max_c on its argmax cell."
    n_max = sum(body.body.feature_info.channels()[i] for i in getattr(body, 'max_idx', []))
    out = _orig(body, x, v[:, :v.shape[1] - n_max])
    if not n_max: return out
    maps, ch, s = body.body(x), body.body.feature_info.channels(), v.shape[1] - n_max
    for i in body.max_idx:
        f = maps[i].float().flatten(2); idx = f.argmax(2); vals = v[:, s:s + ch[i]] * f.gather(2, idx[:, :, None])[:, :, 0]
        out[i] = (out[i].flatten(1).scatter_add(1, idx, vals)).view_as(out[i]); s += ch[i]
    return out
P.body_contributions = body_contributions

base = load_detector(os.environ['MODEL_DIR']); demo_root = Path(os.environ['DEMO_ROOT'])
levels, gram = base.config.extra['levels'], base.config.extra['gram_levels']
model = P.FeatureProbe([MaxBody(P.feature_body(a, levels), levels, gram, max_levels) for a in P.PROBE_ARCHS]).to(memory_format=torch.channels_last)
d = torch.load(CACHE/'demo.pt', weights_only=False)
parts = [(s, [l]) for l in (1, 2, 3, 4) for s in ('mean', 'std')] + [('corr', [3])] + [('max', [l]) for l in max_levels]
X, y, sp = torch.cat(features(d, parts), 1).numpy(), d['label'], d['split']; assert X.shape[1] == model.n_features
head = P.fit_fused_head(X[sp == 'train'], y[sp == 'train'], X[sp == 'val'], y[sp == 'val'], P.feature_blocks(model), epochs=30, lr=1e-3, wd=0.5, seed=0)
P.set_head(model, head)
m, t = P.probe_metrics({s: (X[sp == s], y[sp == s]) for s in ('train', 'val', 'test')}, head)
print('max levels', max_levels, {k: round(m[k], 3) for k in ('val_auc', 'test_auc')})
det = Detector(base.config, model)
x = torch.randn(2, 3, 64, 64).contiguous(memory_format=torch.channels_last); v, c = P.score_weights(model, [ARTIFACT, ARTIFACT])
with torch.no_grad(): lo = model(x); split = sum(k.sum((1, 2)) for k in P.probe_contributions(model, x, [ARTIFACT, ARTIFACT])) + c
print('exact split check: log-odds', (lo[:, ARTIFACT] - lo[:, 1 - ARTIFACT]).tolist(), 'sum of shares', split.tolist())
val = pd.read_csv(demo_root/'val.csv'); clean = [str(demo_root/p) for p in val[val.label == 1].image.head(32)]
for seed in seeds:
    root = demo_data(f'/tmp/s11/seed{seed}', n=400, size=160, seed=seed)
    reg = artifact_regions(root); reg = reg[~reg.index.duplicated()]
    rows = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')]); rows = rows[(rows.label == ARTIFACT) & rows.image.isin(reg.index)]
    files = [str(root/p) for p in rows.image]; boxes = reg.loc[rows.image].set_axis(files); kinds = boxes.kind.values
    interp = GradCAMInterpretation.from_detector(det, files, reference=clean); interp.heatmaps()
    res = [pointing_game(interp, boxes, tolerance=tol).hit.mean() for tol in (0, 8, 15)]; h = pointing_game(interp, boxes).hit.to_numpy()
    print(f"max {max_levels} seed {seed}: " + ' / '.join(f'{r:.3f}' for r in res) + ' | ' + ' '.join(f'{q} {h[kinds == q].mean():.2f}' for q in sorted(set(kinds))), flush=True)

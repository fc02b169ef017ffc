"Scratch exploration of session 9 (issue 19), kept for the record: MODEL_DIR=models/demo/feature_probe DEMO_ROOT=demo_data/synthetic python bench/pointing_variants/shifts_levels.py SEED [SHIFTS]. Caches maps under WORK (default /tmp/pointing_variants)."
import os, sys, time, pickle, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, pandas as pd, torch, torch.nn.functional as F
torch.set_num_threads(1)
from artifact_fastai.core import ARTIFACT
from artifact_fastai.kinds import load_detector
from artifact_fastai.interpret import GradCAMInterpretation, pointing_game, _relu_minmax
from artifact_fastai.experiment import demo_data
from artifact_fastai.synth import artifact_regions
from artifact_fastai.probe import probe_contributions, spread_cells

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
shifts = [(0, 0), (0, 16), (16, 0), (16, 16)] if len(sys.argv) <= 2 else eval(sys.argv[2])
det = load_detector(os.environ['MODEL_DIR']); demo_root = Path(os.environ['DEMO_ROOT'])
root = Path(os.environ.get('WORK', '/tmp/pointing_variants'))/f'cam{seed}'/'cam_set'
if not (root/'test.csv').exists(): demo_data(root, n=400, size=160, seed=seed)
val = pd.read_csv(demo_root/'val.csv'); clean = [str(demo_root/p) for p in val[val.label == 1].image.head(32)]
reg = artifact_regions(root); reg = reg[~reg.index.duplicated()]
rows = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')])
rows = rows[(rows.label == ARTIFACT) & rows.image.isin(reg.index)]
files = [str(root/p) for p in rows.image]; boxes = reg.loc[rows.image].set_axis(files)

def translate(x, dy, dx, mode='reflect'):
    "content moved by (+dy, +dx), reflect-padded."
    H, W = x.shape[-2:]
    p = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)), mode=mode)
    y0, x0 = max(-dy, 0), max(-dx, 0)
    return p[..., y0:y0 + H, x0:x0 + W] if dy >= 0 and dx >= 0 else p[..., y0:y0 + H, x0:x0 + W]

def level_maps(interp, idxs):
    "per image: list over shifts of list over levels of cells (h, w)."
    out = {}
    for s in range(0, len(idxs), 16):
        chunk = idxs[s:s + 16]; x, _ = interp.images.inputs(chunk)
        for sh in shifts:
            xs = translate(x, *sh)
            parts = probe_contributions(det.model, xs, [ARTIFACT] * len(chunk))
            out.setdefault(sh, []).append([p.cpu() for p in parts])
    return {sh: [torch.cat([b[k] for b in v]) for k in range(len(v[0]))] for sh, v in out.items()}

cache = root.parent/f'levels_seed{seed}_{len(shifts)}.pkl'
if cache.exists(): L, R, interp = pickle.load(open(cache, 'rb')) + (GradCAMInterpretation.from_detector(det, files),)
else:
    t = time.time()
    interp = GradCAMInterpretation.from_detector(det, files)
    rinterp = GradCAMInterpretation.from_detector(det, clean)
    L = level_maps(interp, list(range(len(files)))); R = level_maps(rinterp, list(range(len(clean))))
    pickle.dump((L, R), open(cache, 'wb')); print('computed', time.time() - t, 's', flush=True)
H = W = 160
def build(maps, use_shifts, levels=None, weights=None, offset=0.):
    tot = 0
    for sh in use_shifts:
        parts = maps[sh]; ks = range(len(parts)) if levels is None else levels
        m = sum((weights[k] if weights else 1.) * spread_cells(parts[k], (H, W), offset) for k in ks)
        tot = tot + translate(m[:, None], -sh[0], -sh[1], 'replicate')[:, 0]
    return tot / len(use_shifts)

def score(name, **kw):
    m = build(L, **kw) - build(R, **kw).mean(0)
    interp._maps = dict(enumerate(_relu_minmax(m)))
    res = [pointing_game(interp, boxes, tolerance=t).hit.mean() for t in (0, 8, 15)]
    kinds = boxes.kind.values; h = pointing_game(interp, boxes).hit.to_numpy()
    print(f"{name:45s} strict {res[0]:.3f}  8px {res[1]:.3f}  15px {res[2]:.3f}  | " + ' '.join(f'{k} {h[kinds == k].mean():.2f}' for k in sorted(set(kinds))), flush=True)

score('no shift', use_shifts=[(0, 0)])
score('4 shifts (0/16)', use_shifts=shifts)
for lv in ([2], [3], [2, 3], [1, 2, 3]):
    score(f'no shift, levels {lv}', use_shifts=[(0, 0)], levels=lv)
    score(f'4 shifts, levels {lv}', use_shifts=shifts, levels=lv)

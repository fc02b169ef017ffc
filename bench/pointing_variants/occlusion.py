"Scratch exploration of session 10 (issue 19): occlusion maps of the demo's probe. MODEL_DIR=... DEMO_ROOT=... python bench/pointing_variants/occlusion.py SEED [WIN STRIDE]. Caches under WORK (default /tmp/s10/work)."
import os, sys, time, pickle, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, pandas as pd, torch, torch.nn.functional as F
torch.set_num_threads(int(os.environ.get('THREADS', 1)))
from artifact_fastai.core import ARTIFACT
from artifact_fastai.kinds import load_detector
from artifact_fastai.interpret import GradCAMInterpretation, removal_baseline
from artifact_fastai.experiment import demo_data
from artifact_fastai.synth import artifact_regions

seed = sys.argv[1] if len(sys.argv) > 1 else '1'
win, stride = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (32, 16)
det = load_detector(os.environ['MODEL_DIR']); demo_root = Path(os.environ['DEMO_ROOT'])
work = Path(os.environ.get('WORK', '/tmp/s10/work')); work.mkdir(parents=True, exist_ok=True)
val = pd.read_csv(demo_root/'val.csv'); clean = [str(demo_root/p) for p in val[val.label == 1].image.head(32)]

def seed_set(seed):
    "files, boxes of all Artifact images of demo_data(n=400, size=160, seed) (seed 'ref': the 32 val Clean images)."
    if seed == 'ref': return clean, None
    root = work/f'cam{seed}'/'cam_set'
    if not (root/'test.csv').exists(): demo_data(root, n=400, size=160, seed=seed)
    reg = artifact_regions(root); reg = reg[~reg.index.duplicated()]
    rows = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')])
    rows = rows[(rows.label == ARTIFACT) & rows.image.isin(reg.index)]
    files = [str(root/p) for p in rows.image]
    return files, reg.loc[rows.image].set_axis(files)

def log_odds(x):
    with torch.inference_mode(): out = det.model(x).float()
    return out[:, ARTIFACT] - out[:, 1 - ARTIFACT]

def window_starts(H, win, stride):
    s = list(range(0, H - win + 1, stride))
    return s if s[-1] == H - win else s + [H - win]

def occlusion_drops(files, win, stride, bs=32):
    "(base log-odds (N,), drops (N, ny, nx)): fall of the Artifact log-odds when each window is replaced by the blurred image."
    interp = GradCAMInterpretation.from_detector(det, files)
    base, drops = [], []
    for i in range(len(files)):
        x, _ = interp.images.inputs([i]); H, W = x.shape[-2:]
        blur = removal_baseline(x)
        ys, xs = window_starts(H, win, stride), window_starts(W, win, stride)
        batch = []
        for y0 in ys:
            for x0 in xs:
                xo = x.clone(); xo[..., y0:y0 + win, x0:x0 + win] = blur[..., y0:y0 + win, x0:x0 + win]; batch.append(xo)
        batch = torch.cat(batch)
        lo = torch.cat([log_odds(batch[s:s + bs]) for s in range(0, len(batch), bs)])
        b = log_odds(x)[0]
        base.append(b); drops.append((b - lo).view(len(ys), len(xs)))
    return torch.stack(base), torch.stack(drops)

if __name__ == '__main__':
    s = sys.argv[1]
    key = 'ref' if s == 'ref' else int(s)
    files, boxes = seed_set(key)
    cache = work/f'occ_{s}_{win}_{stride}.pkl'
    if not cache.exists():
        t = time.time(); base, drops = occlusion_drops(files, win, stride)
        pickle.dump(dict(files=files, boxes=boxes, base=base, drops=drops, win=win, stride=stride), open(cache, 'wb'))
        print(s, win, stride, 'computed', round(time.time() - t, 1), 's for', len(files), 'images', flush=True)

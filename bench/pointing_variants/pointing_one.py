"Scratch (session 11, issue 19): the product's default pointing game (val-Clean reference, mean and sd) of one probe folder on synthetic seed sets, as `bench_synth.py --pointing` prints its last variant. python bench/pointing_variants/pointing_one.py MODEL_DIR DEMO_ROOT SEED [SEED...]"
import sys, time, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from artifact_fastai.core import ARTIFACT
from artifact_fastai.kinds import load_detector
from artifact_fastai.interpret import GradCAMInterpretation, pointing_game
from artifact_fastai.experiment import demo_data
from artifact_fastai.synth import artifact_regions

det, demo_root = load_detector(sys.argv[1]), Path(sys.argv[2])
val = pd.read_csv(demo_root/'val.csv'); clean = [str(demo_root/p) for p in val[val.label == 1].image.head(32)]
for seed in map(int, sys.argv[3:]):
    root = demo_data(f'/tmp/s11/seed{seed}', n=400, size=160, seed=seed)
    reg = artifact_regions(root); reg = reg[~reg.index.duplicated()]
    rows = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')])
    rows = rows[(rows.label == ARTIFACT) & rows.image.isin(reg.index)]
    files = [str(root/p) for p in rows.image]; boxes = reg.loc[rows.image].set_axis(files); kinds = boxes.kind.values
    t = time.perf_counter(); interp = GradCAMInterpretation.from_detector(det, files, reference=clean); interp.heatmaps()
    res = [pointing_game(interp, boxes, tolerance=tol).hit.mean() for tol in (0, 8, 15)]
    h = pointing_game(interp, boxes).hit.to_numpy()
    print(f"{sys.argv[1]} seed {seed}: " + ' / '.join(f'{r:.3f}' for r in res) + f" (n={len(h)}, {time.perf_counter() - t:.0f} s) | "
          + ' '.join(f'{q} {h[kinds == q].mean():.2f}' for q in sorted(set(kinds))), flush=True)

"End to end (issue 18, session 9): the probe recipe (default copies) trained by the product on faces140k-sample, scored by the saved detector at native scale and 0.5x. Run: OMP_NUM_THREADS=1 .venv/bin/python bench/scale_copies_e2e.py"
import time, warnings, json; warnings.filterwarnings('ignore')
import numpy as np, torch; torch.set_num_threads(1)
from pathlib import Path
from artifact_fastai.data import read_splits, open_image
from artifact_fastai.recipes import train_recipe_detector
from artifact_fastai.kinds import load_detector
from artifact_fastai.robustness import rescale, perturb_images
from artifact_fastai.metrics import binary_metrics
faces = Path('/work/shared/data/faces140k-sample'); out = Path('bench/results/faces_probe_copies')
table = read_splits(faces, seed=0)
t0 = time.perf_counter(); _, m, _ = train_recipe_detector(table, 'probe', out=out, quiet=True) if not out.exists() else (None, {}, None)
print('train', round(time.perf_counter() - t0), 's', {k: m.get(k) for k in ('val_auc', 'test_auc', 'n_train', 'n_train_copies', 'extract_s', 'train_s')}, flush=True)
det = load_detector(out); test = table[table.split == 'test']
ims, y = [open_image(faces/p) for p in test.path], test.label.to_numpy(int)
print('config train_copies', json.dumps(det.config.extra.get('train_copies')))
auc = lambda p: binary_metrics(y, p, det.config.threshold)['auc']
t0 = time.perf_counter(); p = det.predict_proba(ims); s = time.perf_counter() - t0
print('native test AUC', round(auc(p), 4), f'predict {len(ims) / s:.2f} img/s', flush=True)
for fmt in ('jpeg', 'png'):
    print(f'0.5x {fmt} AUC', round(auc(det.predict_proba(perturb_images(ims, rescale(0.5, fmt)))), 4), flush=True)

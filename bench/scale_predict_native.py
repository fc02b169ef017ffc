"Predict the 150 faces140k test images (256 px, native scale) with a saved detector on one thread; prints img/s (issue 18 throughput check: run it in two checkouts under farm-bench --vs)."
import sys, time, warnings; warnings.filterwarnings('ignore')
import torch; torch.set_num_threads(1)
from pathlib import Path
from artifact_fastai.data import read_splits, open_image
from artifact_fastai.kinds import load_detector
faces = Path('/work/shared/data/faces140k-sample')
det = load_detector(sys.argv[1])
test = read_splits(faces, seed=0).query("split == 'test'")
ims = [open_image(faces/p) for p in test.path]
t0 = time.perf_counter(); p = det.predict_proba(ims); s = time.perf_counter() - t0
print(f'{len(ims) / s:.2f} img/s', float(p.mean()))

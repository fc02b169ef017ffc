"Scratch (session 11, issue 19): the probe's pooled features (product defaults) of altered training copies of the demo's train rows, for `pool_screen.py ...+copies=1`. python bench/pointing_variants/copies_cache.py KIND[,KIND...]  (env DEMO_ROOT, CACHE=/tmp/s11/cache)"
import os, sys, time, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from artifact_fastai.probe import feature_probe, probe_dataloaders, copy_features
cache = Path(os.environ.get('CACHE', '/tmp/s11/cache')); kinds = sys.argv[1].split(',')
dls = probe_dataloaders(Path(os.environ['DEMO_ROOT']), size=160, bs=32, seed=0, check=False)
t = time.perf_counter(); X, y = copy_features(feature_probe(), dls, kinds, seed=0, progress=False)
np.savez(cache/f"copies_{'_'.join(kinds)}.npz", X=X, y=y); print(kinds, X.shape, f'{time.perf_counter() - t:.0f} s')

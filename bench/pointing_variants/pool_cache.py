"Scratch (session 11, issue 19): cache the probe backbones' raw level maps (plain and mirrored view, float16) of a set, so that pooling variants are screened without re-extraction. python bench/pointing_variants/pool_cache.py demo|1|2  (env DEMO_ROOT, CACHE=/tmp/s11/cache, SIZE, RESIZE)"
import os, sys, time, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from artifact_fastai.probe import feature_probe, probe_dataloaders
from artifact_fastai.data import split_dataloader
from artifact_fastai.experiment import demo_data

which, cache = sys.argv[1], Path(os.environ.get('CACHE', '/tmp/s11/cache')); cache.mkdir(parents=True, exist_ok=True)
root = Path(os.environ['DEMO_ROOT']) if which == 'demo' else demo_data(f'/tmp/s11/seed{which}', n=400, size=160, seed=int(which))
size, resize = int(os.environ.get('SIZE', 160)), os.environ.get('RESIZE', 'native')  # e.g. SIZE=224 RESIZE=squish: upsampled input
dls = probe_dataloaders(root, size=size, bs=32, resize=resize, seed=0, check=False)
model = feature_probe()
t = time.perf_counter(); maps = None
with torch.inference_mode():
    for xb, yb in split_dataloader(dls, None):
        x = model.prepared(xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last))
        out = [[m.half().contiguous() for m in b.body(v)] for v in (x, x.flip(-1)) for b in model.bodies]  # view-major: (plain b0 b1 b2, mirrored b0 b1 b2)
        maps = out if maps is None else [[torch.cat([a, m]) for a, m in zip(A, M)] for A, M in zip(maps, out)]
df = dls.split_df
torch.save(dict(maps=maps, path=df.path.tolist(), label=df.label.astype(int).to_numpy(), split=df.split.to_numpy(), root=str(root)), cache/f'{which}.pt')
print(which, len(df), f'{time.perf_counter() - t:.0f} s')

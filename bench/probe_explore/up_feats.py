"Full probe features (ms levels 1-4 + level-3 correlations) of images upsampled by a factor, flip-averaged."
import os, sys, time, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import DATA, CACHE
import torch, numpy as np, torch.nn.functional as F
from artifact_fastai.data import read_splits, split_dataloader
from artifact_fastai.probe import feature_body, probe_dataloaders, PooledBody, PROBE_LEVELS, PROBE_GRAM_LEVELS
arch=sys.argv[1]; factor=float(sys.argv[2]); mode=sys.argv[3] if len(sys.argv)>3 else 'bilinear'
df=read_splits(DATA, seed=0); dls=probe_dataloaders(df, 256, 32, 'native')
dl=split_dataloader(dls, None, bs=16)
pb=PooledBody(feature_body(arch), PROBE_LEVELS, PROBE_GRAM_LEVELS).to(memory_format=torch.channels_last)
out=[]; t0=time.time()
with torch.inference_mode():
    for xb,yb in dl:
        x=xb.as_subclass(torch.Tensor)
        if factor!=1: x=F.interpolate(x, scale_factor=factor, mode=mode, **({} if mode=='nearest' else dict(align_corners=False)))
        x=x.contiguous(memory_format=torch.channels_last)
        out.append((pb(x)+pb(x.flip(-1)))/2)
X=torch.cat(out).numpy(); print(arch, factor, mode, 'extract', round(time.time()-t0), 's', X.shape, flush=True)
np.save(f'{CACHE}/{arch}_x{factor}_{mode}.npy', X)

"Cache blocks.2 output (stride 8) of each Lite for both flip views, plus mean/std of levels 1-2."
import os, sys, time, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import DATA, CACHE
import torch, numpy as np
from artifact_fastai.data import read_splits, split_dataloader
from artifact_fastai.probe import feature_body, probe_dataloaders, pooled_levels
arch=sys.argv[1]; size=int(sys.argv[2]) if len(sys.argv)>2 else 256
df=read_splits(DATA, seed=0)
dls=probe_dataloaders(df, size, 32, 'native')
dl=split_dataloader(dls, None)
b=feature_body(arch).to(memory_format=torch.channels_last)
b2s, mss, ys = [], [], []
t0=time.time()
with torch.inference_mode():
    for xb, yb in dl:
        x=xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last)
        views=[]; ms=[]
        for v in (x, x.flip(-1)):
            h=b.bn1(b.conv_stem(v)); h=b.blocks[0](h); h1=b.blocks[1](h); h2=b.blocks[2](h1)
            views.append(h2.half()); ms.append(pooled_levels([h1,h2]))
        b2s.append(torch.stack(views,1).contiguous()); mss.append(torch.stack(ms,1)); ys.append(yb)
print(arch, 'extract', time.time()-t0)
torch.save(dict(b2=torch.cat(b2s), ms12=torch.cat(mss), y=torch.cat(ys).numpy(), split=dls.split_df.split.to_numpy(),
                table=dls.split_df.reset_index(drop=True)), f'{CACHE}/{arch}_{size}.pt')

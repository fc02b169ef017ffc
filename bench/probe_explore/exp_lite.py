"Feature variants and partial fine-tuning from cached blocks.2 maps."
import os, sys, time, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import CACHE, cached, split_sets, evaluate
import torch, numpy as np
from artifact_fastai.probe import feature_body, pooled_levels, channel_correlations
torch.manual_seed(0)
arch=sys.argv[1]; what=sys.argv[2:]
c=cached(arch)
b=feature_body(arch)
y, split, table = c['y'], c['split'], c['table']
splits=split_sets(c)
N=len(y)

def down(h2):
    "Downstream maps from blocks.2 output."
    h3=b.blocks[3](h2); h4=b.blocks[4](h3); h5=b.blocks[5](h4); h6=b.blocks[6](h5)
    return h3,h4,h5,h6

def local_gram(m, g=2):
    "Mean of the correlations over g x g spatial tiles."
    N,C,H,W=m.shape; t=m.unfold(2,H//g,H//g).unfold(3,W//g,W//g)  # N,C,g,g,h,w
    t=t.permute(0,2,3,1,4,5).reshape(N*g*g,C,H//g,W//g)
    return channel_correlations(t).reshape(N,g*g,-1).mean(1)

t0=time.time()
feats={k:[] for k in ['ms3','ms4','g4l3','g3','g4l3_local2','g5','ms_b3']}
with torch.inference_mode():
    for i in range(0,N,50):
        per={k:[] for k in feats}
        for v in range(2):
            h2=c['b2'][i:i+50,v].float().contiguous(memory_format=torch.channels_last)
            h3,h4,h5,h6=down(h2)
            per['ms3'].append(pooled_levels([h4])); per['ms4'].append(pooled_levels([h6]))
            per['g4l3'].append(channel_correlations(h4)); per['g3'].append(channel_correlations(h3))
            per['g4l3_local2'].append(local_gram(h4,2)); per['g5'].append(channel_correlations(h5))
            per['ms_b3'].append(pooled_levels([h3,h5]))
        for k in feats: feats[k].append((per[k][0]+per[k][1])/2)
feats={k:torch.cat(v).numpy() for k,v in feats.items()}
feats['ms12']=c['ms12'].mean(1).numpy()
print('downstream features', round(time.time()-t0), 's', {k:v.shape[1] for k,v in feats.items()}, flush=True)

np.savez(f'{CACHE}/{arch}_feats.npz', y=y, **feats)
V={'base (ms1-4 + g3)':['ms12','ms3','ms4','g4l3'],
   '+ gram blocks3':['ms12','ms3','ms4','g4l3','g3'],
   'local2 gram instead':['ms12','ms3','ms4','g4l3_local2'],
   '+ local2 gram':['ms12','ms3','ms4','g4l3','g4l3_local2'],
   '+ gram blocks5':['ms12','ms3','ms4','g4l3','g5'],
   '+ ms blocks3,5':['ms12','ms3','ms4','g4l3','ms_b3'],
   'gram blocks3 + l3 only':['g4l3','g3'],
}
for name, ks in V.items():
    if what and name not in what and 'all' not in what: continue
    evaluate(np.concatenate([feats[k] for k in ks],1), y, splits, f'{arch} {name}')

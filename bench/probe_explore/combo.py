"Combinations of cached feature blocks: joint head vs late fusion (mean log-odds of per-block heads)."
import os, sys, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import CACHE, cached, split_sets, evaluate
import numpy as np
c=cached()
y, split, table = c['y'], c['split'], c['table']
splits=split_sets(c)
def base(a):
    z=np.load(f'{CACHE}/{a}_feats.npz'); return np.concatenate([z['ms12'],z['ms3'],z['ms4'],z['g4l3']],1)
B={}
for a in ('efficientnet_lite0','efficientnet_lite1','efficientnet_lite2'):
    if os.path.exists(f'{CACHE}/{a}_feats.npz'):
        B[a[-5:]]=base(a); z=np.load(f'{CACHE}/{a}_feats.npz')
        B[a[-5:]+'ms']=np.concatenate([z['ms12'],z['ms3'],z['ms4']],1); B[a[-5:]+'g']=z['g4l3']  # per feature group
for f,n in (('cooc.npy','cooc'),('efficientnet_lite0_x2.0_bilinear.npy','l0x2')):
    if os.path.exists(str(CACHE/f)): B[n]=np.load(str(CACHE/f))
print({k:v.shape for k,v in B.items()})
def joint(keys):
    evaluate(np.concatenate([B[k] for k in keys], 1), y, splits, 'joint ' + '+'.join(keys))
def late(keys):
    "One head per block, logits averaged: `probe.fit_fused_head`, the recipe's head."
    X = np.concatenate([B[k] for k in keys], 1)
    ends = np.cumsum([B[k].shape[1] for k in keys])
    evaluate(X, y, splits, 'late ' + '+'.join(keys), [slice(int(e) - B[k].shape[1], int(e)) for e, k in zip(ends, keys)])
for spec in sys.argv[1:]:
    kind, keys = spec.split(':'); keys=keys.split(',')
    (joint if kind=='joint' else late)(keys)

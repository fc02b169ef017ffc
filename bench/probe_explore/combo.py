"Combinations of cached feature blocks: joint head vs late fusion (mean log-odds of per-block heads)."
import os, sys, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from _common import DATA, CACHE, cached, split_sets, summary_row, evaluate
import numpy as np, torch
from sklearn.metrics import roc_auc_score
from artifact_fastai.probe import fit_head, probe_metrics, rows_by_split, head_proba
from artifact_fastai.metrics import choose_threshold
from artifact_fastai.recipes import fold_splits, _split_metrics
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
def report(name, rows): print(summary_row(name, rows), flush=True)
def joint(keys):
    X=np.concatenate([B[k] for k in keys],1); rows=[]
    for s in splits:
        fs=rows_by_split(X,y,s); m,_=probe_metrics(fs, fit_head(*fs['train'],*fs['val'])); rows.append(m)
    report('joint '+'+'.join(keys), rows)
def late(keys, weights=None):
    rows=[]
    for s in splits:
        lo={}
        for k in keys:
            fs=rows_by_split(B[k],y,s); h=fit_head(*fs['train'],*fs['val'])
            for sp in ('val','test'):
                p=np.clip(head_proba(h, fs[sp][0]),1e-6,1-1e-6); lo.setdefault(sp,[]).append(np.log(p/(1-p)))
        w=np.ones(len(keys)) if weights is None else np.array(weights)
        probs={sp:1/(1+np.exp(-(np.array(v).T@w)/w.sum())) for sp,v in lo.items()}
        yv, yt = y[s=='val'], y[s=='test']
        t=choose_threshold(yv, probs['val'], method='youden')
        m={}; m.update(_split_metrics(yv, probs['val'], t, 'val')); m.update(_split_metrics(yt, probs['test'], t, 'test')); rows.append(m)
    report('late '+'+'.join(keys)+('' if weights is None else f' w={weights}'), rows)
for spec in sys.argv[1:]:
    kind, keys = spec.split(':'); keys=keys.split(',')
    (joint if kind=='joint' else late)(keys)

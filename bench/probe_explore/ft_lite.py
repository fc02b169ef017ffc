"Partial fine-tuning of blocks 3-4 (stride 16) with the Gram head, from cached blocks.2 maps; fixed split."
import os, sys, time, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import CACHE, cached
import torch, numpy as np, torch.nn.functional as F
from torch import nn
from sklearn.metrics import roc_auc_score
from artifact_fastai.probe import feature_body, pooled_levels, channel_correlations, fit_head, probe_metrics, rows_by_split
from artifact_fastai.recipes import fold_splits, _split_metrics
from artifact_fastai.metrics import choose_threshold
torch.manual_seed(0); torch.set_num_threads(2)
arch=sys.argv[1]; lr_body=float(sys.argv[2]); epochs=int(sys.argv[3]); fold=int(sys.argv[4]) if len(sys.argv)>4 else -1
c=cached(arch)
fz=np.load(f'{CACHE}/{arch}_feats.npz')
y, table = c['y'], c['table']
split = c['split'] if fold<0 else fold_splits(table,5,fold,0).split.to_numpy()
b=feature_body(arch); top=nn.Sequential(b.blocks[3], b.blocks[4]).to(memory_format=torch.channels_last)
def feats_of(h2):
    h4=top(h2); return torch.cat([pooled_levels([h4]), channel_correlations(h4)],1)
X0=np.concatenate([fz['ms12'], fz['ms3'], fz['g4l3']],1)
fs=rows_by_split(X0,y,split); head=fit_head(*fs['train'],*fs['val'])
m0,_=probe_metrics(fs, head); print('frozen (no level-4 ms):', {k:round(m0[k],3) for k in ('val_auc','test_auc','test_balanced_accuracy')}, flush=True)
mean, std = head['mean'], head['std']
lin=nn.Linear(X0.shape[1],2); lin.weight.data.copy_(head['weight']); lin.bias.data.copy_(head['bias'])
ms12=torch.from_numpy(fz['ms12']).float()
idx={s:np.where(split==s)[0] for s in ('train','val','test')}
def logits(i, views):
    f=sum(torch.cat([ms12[i], feats_of(c['b2'][i,v].float().contiguous(memory_format=torch.channels_last))],1) for v in views)/len(views)
    return lin((f-mean)/std)
def evaluate_finetuned():
    top.eval(); out={}
    with torch.no_grad():
        for s in ('val','test'):
            p=torch.cat([F.softmax(logits(idx[s][j:j+50],(0,1)),-1)[:,0] for j in range(0,len(idx[s]),50)]).numpy()
            out[s]=p
    yv, yt = y[idx['val']], y[idx['test']]
    t=choose_threshold(yv, out['val'], method='youden')
    m=_split_metrics(yt, out['test'], t, 'test')
    return roc_auc_score(yv==0,out['val']), m['test_auc'], m['test_balanced_accuracy']
opt=torch.optim.AdamW([dict(params=top.parameters(), lr=lr_body, weight_decay=1e-2), dict(params=lin.parameters(), lr=1e-3, weight_decay=0.5)])
tr=idx['train']; steps=epochs*int(np.ceil(len(tr)/32)); sched=torch.optim.lr_scheduler.OneCycleLR(opt,[lr_body,1e-3],total_steps=steps,pct_start=0.25)
for ep in range(epochs):
    t0=time.time(); top.train(); [m.eval() for m in top.modules() if isinstance(m, nn.BatchNorm2d)]
    perm=np.random.permutation(tr); tot=0
    for j in range(0,len(perm),32):
        i=perm[j:j+32]; v=np.random.randint(2)
        loss=F.cross_entropy(logits(i,(v,)), torch.from_numpy(y[i]).long())
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot+=loss.item()*len(i)
    va,ta,bal=evaluate_finetuned()
    print(f'ep {ep} loss {tot/len(tr):.3f} val_auc {va:.3f} test_auc {ta:.3f} test_bal {bal:.3f} ({time.time()-t0:.0f}s)', flush=True)

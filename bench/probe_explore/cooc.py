"Residual co-occurrence features (SPAM / rich-model style) + logistic head, fixed split and 5-fold CV; combos with probe features."
import os, sys, time, warnings; os.environ['HF_HUB_OFFLINE']='1'; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import DATA, CACHE, cached, split_sets, evaluate
import numpy as np, torch
from PIL import Image
c=cached()
y, split, table = c['y'], c['split'], c['table']
splits=split_sets(c)
T=2; L=2*T+1
def residuals(ch):
    x=ch.astype(np.int32)
    r1h=x[:,1:]-x[:,:-1]; r1v=x[1:,:]-x[:-1,:]
    r2h=x[:,:-2]-2*x[:,1:-1]+x[:,2:]; r2v=x[:-2,:]-2*x[1:-1,:]+x[2:,:]
    kb=(-x[:-2,:-2]+2*x[:-2,1:-1]-x[:-2,2:]+2*x[1:-1,:-2]-4*x[1:-1,1:-1]+2*x[1:-1,2:]-x[2:,:-2]+2*x[2:,1:-1]-x[2:,2:])
    return {'1':(r1h,r1v,1),'2':(r2h,r2v,2),'kb':(kb,kb,4)}
def cooc(r, q, axis):
    r=np.clip(np.round(r/q),-T,T).astype(np.int64)+T
    if axis==1: a,b,cc=r[:,:-2],r[:,1:-1],r[:,2:]
    else: a,b,cc=r[:-2],r[1:-1],r[2:]
    h=np.bincount((a*L*L+b*L+cc).ravel(), minlength=L**3).astype(np.float64)
    return h/h.sum()
def image_features(img, qs=(1,)):
    "Co-occurrence histograms of the residuals of each RGB channel and of grey, for a PIL image."
    im=np.asarray(img.convert('RGB'))
    chans=[im[...,k] for k in range(3)]+[im.astype(np.int32).mean(-1)]
    out=[]
    for ch in chans:
        for name,(rh,rv,qbase) in residuals(ch).items():
            for q in qs:
                h=(cooc(rh,q*qbase,1)+cooc(rv,q*qbase,0))/2
                out.append(h)
    return np.concatenate(out)
def features(path, qs=(1,)): return image_features(Image.open(path), qs)
if __name__ == '__main__':
    t0=time.time()
    F_=np.stack([features(os.path.join(DATA,p)) for p in table.path])
    print('cooc features', F_.shape, round(time.time()-t0),'s', flush=True)
    np.save(f'{CACHE}/cooc.npy', F_)
    evaluate(F_, y, splits, 'cooc raw')
    evaluate(np.sqrt(F_), y, splits, 'cooc sqrt')
    evaluate(np.log(F_+1e-5), y, splits, 'cooc log')

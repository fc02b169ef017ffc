import os, sys, io, warnings; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import DATA, CACHE
import numpy as np, torch
from PIL import Image, ImageFilter
from cooc import residuals, cooc, y, split, table  # the features of cooc.py
from sklearn.metrics import roc_auc_score
from artifact_fastai.probe import fit_head, head_proba
F_=np.load(f'{CACHE}/cooc.npy')
tr, te = split=='train', split=='test'
h=fit_head(F_[tr],y[tr],F_[split=='val'],y[split=='val'])
def feat_img(im):
    arr=np.asarray(im.convert('RGB')); chans=[arr[...,k] for k in range(3)]+[arr.astype(np.int32).mean(-1)]
    out=[]
    for ch in chans:
        for name,(rh,rv,qb) in residuals(ch).items(): out.append((cooc(rh,qb,1)+cooc(rv,qb,0))/2)
    return np.concatenate(out)
def jpeg(q):
    def f(im):
        b=io.BytesIO(); im.convert('RGB').save(b,'JPEG',quality=q); b.seek(0); return Image.open(b)
    return f
def noise(s):
    def f(im):
        a=np.asarray(im.convert('RGB')).astype(float)+np.random.default_rng(0).normal(0,s,(256,256,3)); return Image.fromarray(np.clip(np.round(a),0,255).astype(np.uint8))
    return f
P={'none':lambda im:im,'jpeg75':jpeg(75),'jpeg50':jpeg(50),'blur1':lambda im:im.filter(ImageFilter.GaussianBlur(1)),'noise5':noise(5),'down0.5':lambda im:im.resize((128,128),Image.BICUBIC)}
paths=[os.path.join(DATA,p) for p in table.path[te]]
for k,f in P.items():
    X=np.stack([feat_img(f(Image.open(p))) for p in paths])
    print(k, round(roc_auc_score(y[te]==0, head_proba(h,X)),3), flush=True)

"Robustness of the residual co-occurrence features (cooc.py): a head fitted on clean train/val, test AUC under the product's perturbations."
import os, sys, warnings; warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(__file__))
from _common import DATA, CACHE
import numpy as np
from PIL import Image
from cooc import image_features, y, split, table  # the features of cooc.py
from sklearn.metrics import roc_auc_score
from artifact_fastai.probe import fit_head, head_proba
from artifact_fastai.robustness import identity, jpeg, blur, noise, downscale, perturb_images
F_=np.load(f'{CACHE}/cooc.npy')
tr, va, te = split=='train', split=='val', split=='test'
h=fit_head(F_[tr],y[tr],F_[va],y[va])
images=[Image.open(os.path.join(DATA,p)).convert('RGB') for p in table.path[te]]
for pert in (identity(), jpeg(75), jpeg(50), blur(1), noise(5), downscale(0.5)):
    X=np.stack([image_features(im) for im in perturb_images(images, pert)])
    print(pert.name, round(roc_auc_score(y[te]==0, head_proba(h,X)),3), flush=True)

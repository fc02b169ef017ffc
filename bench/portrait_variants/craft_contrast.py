"Does local contrast normalisation before CRAFT reveal faint watermarks? text images vs others, CRAFT region max."
import sys, time, json, numpy as np, pandas as pd, torch, torch.nn.functional as F
from pathlib import Path
from PIL import Image
from sklearn.metrics import roc_auc_score
from artifact_fastai.text import load_craft
torch.set_num_threads(2)
ROOT = Path('../shared/data/portrait-qa-dev')
craft = load_craft()
MEAN, STD = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
def blur(x, s):
    k = int(3 * s) * 2 + 1; g = torch.exp(-(torch.arange(k) - k // 2) ** 2 / (2 * s * s)); g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (k//2, k//2, 0, 0), mode='reflect'), g.view(1, 1, 1, k).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, k//2, k//2), mode='reflect'), g.view(1, 1, k, 1).repeat(c, 1, 1, 1), groups=c)
def lcn(x, s=8.0, gain=0.25):
    m = blur(x, s); d = x - m; sd = blur(d * d, s).sqrt()
    return (0.5 + gain * d / (sd + 0.03)).clamp(0, 1)
def run(x):
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16): y = craft((x - MEAN) / STD).float()
    return y
df = pd.read_csv(ROOT/'labels.csv'); df['text'] = df.categories.fillna('').str.contains('text')
sel = pd.concat([df[df.text], df[~df.text].sample(int(sys.argv[1]), random_state=1)])
rows = []; t = time.time()
for i, r in enumerate(sel.itertuples()):
    a = torch.from_numpy(np.asarray(Image.open(ROOT/r.image).convert('RGB').resize((768, 768), Image.BILINEAR), np.float32) / 255).permute(2, 0, 1)[None]
    xs = torch.cat([a, lcn(a, 8)])
    y = run(xs)
    rows.append(dict(image=r.image, text=bool(r.text), label=int(r.label), **{f'{n}_{k}': float(y[j, c].amax()) for j, n in enumerate(['plain', 'lcn8']) for c, k in enumerate(['reg', 'aff'])},
                     **{f'{n}_q': float(y[j, 0].flatten().float().quantile(0.999)) for j, n in enumerate(['plain', 'lcn8'])}))
    if i % 10 == 0: print(i, time.time() - t, flush=True); pd.DataFrame(rows).to_csv('bench/results/craft_contrast_part.csv', index=False)
d = pd.DataFrame(rows); d.to_csv('bench/results/craft_contrast.csv', index=False)
for c in d.columns[3:]: print(c, round(roc_auc_score(d.text, d[c]), 3), 'artifact-vs-clean', round(roc_auc_score(1 - d.label, d[c]), 3))

"Feasibility: does easyocr's english_g2 recogniser on CRAFT boxes separate text images better than CRAFT's max?"
import sys, time, json, numpy as np, pandas as pd, torch, torch.nn as nn, torch.nn.functional as F
from pathlib import Path
from PIL import Image
from scipy import ndimage
from sklearn.metrics import roc_auc_score
import easyocr_en_models
from artifact_fastai.text import load_craft
torch.set_num_threads(2)
ROOT = Path('../shared/data/portrait-qa-dev')
CHARS = "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

class BiLSTM(nn.Module):
    def __init__(s, i, h, o): super().__init__(); s.rnn = nn.LSTM(i, h, bidirectional=True, batch_first=True); s.linear = nn.Linear(2*h, o)
    def forward(s, x): return s.linear(s.rnn(x)[0])
class Rec(nn.Module):
    def __init__(s):
        super().__init__()
        c = [32, 64, 128, 256]
        s.ConvNet = nn.Sequential(nn.Conv2d(1, c[0], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2, 2),
            nn.Conv2d(c[0], c[1], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2, 2),
            nn.Conv2d(c[1], c[2], 3, 1, 1), nn.ReLU(True), nn.Conv2d(c[2], c[2], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(c[2], c[3], 3, 1, 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU(True),
            nn.Conv2d(c[3], c[3], 3, 1, 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU(True), nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(c[3], c[3], 2, 1, 0), nn.ReLU(True))
        s.seq = nn.Sequential(BiLSTM(256, 256, 256), BiLSTM(256, 256, 256)); s.pred = nn.Linear(256, 97)
    def forward(s, x):
        f = s.ConvNet(x).permute(0, 3, 1, 2)          # N, W, C, H
        f = F.adaptive_avg_pool2d(f, (None, 1)).squeeze(3)
        return s.pred(s.seq(f))
def load_rec():
    sd = torch.load(Path(easyocr_en_models.model_dir())/'english_g2.pth', map_location='cpu', weights_only=True)
    m = {}
    for k, v in sd.items():
        k = k.removeprefix('module.').replace('FeatureExtraction.ConvNet', 'ConvNet').replace('SequenceModeling', 'seq').replace('Prediction', 'pred')
        m[k] = v
    r = Rec(); r.load_state_dict(m, strict=True); return r.eval()

def boxes(region, affinity, text_thr=0.7, low=0.4, link=0.4, min_px=10):
    lab, n = ndimage.label((region > low) | (affinity > link))
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab)):
        m = lab[sl] == i + 1
        if m.sum() < min_px or region[sl][m].max() < text_thr: continue
        out.append((sl[0].start, sl[0].stop, sl[1].start, sl[1].stop, float(region[sl][m].max())))
    return out

def decode(logits):
    p = logits.softmax(-1); mx, idx = p.max(-1)
    res = []
    for pi, ii in zip(mx, idx):
        keep = (ii != 0) & torch.cat([torch.tensor([True]), ii[1:] != ii[:-1]])
        s = ''.join(CHARS[j - 1] for j in ii[keep].tolist()); pr = pi[keep].numpy()
        conf = float(np.prod(pr) ** (2.0 / np.sqrt(len(pr)))) if len(pr) else 0.0
        res.append((s, conf))
    return res

craft, rec = load_craft(), load_rec()
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
def image_feats(path, scale=768):
    im = Image.open(path).convert('RGB').resize((scale, scale), Image.BILINEAR)
    a = np.asarray(im, np.float32) / 255
    x = torch.from_numpy(((a - MEAN) / STD).astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16): y = craft(x).float()[0].numpy()
    reg, aff = y[0], y[1]
    bx = boxes(reg, aff)
    gray = np.asarray(im.convert('L'), np.float32) / 255
    crops = []
    for y0, y1, x0, x1, _ in bx:
        y0, y1, x0, x1 = 2 * y0, 2 * y1, 2 * x0, 2 * x1
        h, w = y1 - y0, x1 - x0; pad = int(0.15 * h) + 2
        y0, y1, x0, x1 = max(0, y0 - pad), min(scale, y1 + pad), max(0, x0 - pad), min(scale, x1 + pad)
        c = gray[y0:y1, x0:x1]
        W = int(min(max(64 * c.shape[1] / max(c.shape[0], 1), 32), 512))
        ct = torch.from_numpy(np.asarray(Image.fromarray((c * 255).astype(np.uint8)).resize((W, 64), Image.BICUBIC), np.float32) / 255)
        crops.append(((ct - 0.5) / 0.5)[None, None])
    dec = []
    with torch.no_grad():
        for c in crops: dec += decode(rec(c))
    return dict(craft_max=float(reg.max()), n_boxes=len(bx), texts=[d[0] for d in dec], confs=[d[1] for d in dec],
                box_scores=[b[4] for b in bx])

df = pd.read_csv(ROOT/'labels.csv')
df['text'] = df.categories.fillna('').str.contains('text')
sel = pd.concat([df[df.text], df[~df.text].sample(int(sys.argv[1]) if len(sys.argv) > 1 else 100, random_state=0)])
rows = []; t = time.time()
for i, r in enumerate(sel.itertuples()):
    f = image_feats(ROOT/r.image); f.update(image=r.image, text=bool(r.text), label=int(r.label)); rows.append(f)
    if i % 20 == 0: print(i, time.time() - t, flush=True)
json.dump(rows, open('bench/results/ocr_feas.json', 'w'))
y = np.array([r['text'] for r in rows])
def agg(r, k):
    c = [cf for cf, s in zip(r['confs'], r['texts']) if len(s.strip()) >= k]
    return max(c) if c else 0.0
print('craft_max AUC', roc_auc_score(y, [r['craft_max'] for r in rows]))
for k in (1, 2, 3): print(f'rec conf (len>={k}) AUC', roc_auc_score(y, [agg(r, k) for r in rows]))
print('n_boxes AUC', roc_auc_score(y, [r['n_boxes'] for r in rows]))

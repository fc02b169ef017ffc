"Scratch (session 10, issue 19): score map variants from the caches of cam_cache.py and occlusion.py. python bench/pointing_variants/occ_eval.py SEED [WIN STRIDE]"
import os, sys, pickle
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
work = Path(os.environ.get('WORK', '/tmp/s10/work'))

def hits(maps, boxes, tol=0):
    "Pointing game hits (N,) of maps (N, H, W) against boxes (x, y, w, h), as `interpret.pointing_game`."
    maps = torch.as_tensor(maps).float(); N, H, W = maps.shape
    idx = maps.flatten(1).argmax(1).numpy(); py, px = idx // W, idx % W
    b = boxes[['x', 'y', 'w', 'h']].to_numpy()
    x0, y0 = np.maximum(0, b[:, 0] - tol), np.maximum(0, b[:, 1] - tol)
    x1, y1 = np.minimum(W, b[:, 0] + b[:, 2] + tol), np.minimum(H, b[:, 1] + b[:, 3] + tol)
    return (x0 <= px) & (px < x1) & (y0 <= py) & (py < y1)

def line(name, maps, boxes, extra=''):
    h = [hits(maps, boxes, t).mean() for t in (0, 8, 15)]
    k = boxes.kind.values; h0 = hits(maps, boxes)
    print(f"{name:52s} {h[0]:.3f} / {h[1]:.3f} / {h[2]:.3f} | " + ' '.join(f'{q} {h0[k == q].mean():.2f}' for q in sorted(set(k))) + extra, flush=True)
    return h0

def occ_pixel_map(drops, win, stride, H=160, W=160, how='mean'):
    "Per pixel: mean (or max) of the drops of the windows covering it (Zeiler & Fergus 2014)."
    N, ny, nx = drops.shape
    starts = lambda n, L: [min(i * stride, L - win) for i in range(n)]
    acc = torch.zeros(N, H, W); cnt = torch.zeros(H, W)
    if how == 'max': acc -= 1e9
    for a, y0 in enumerate(starts(ny, H)):
        for b, x0 in enumerate(starts(nx, W)):
            d = drops[:, a, b].view(N, 1, 1)
            if how == 'max': acc[:, y0:y0 + win, x0:x0 + win] = torch.maximum(acc[:, y0:y0 + win, x0:x0 + win], d.expand(N, win, win))
            else: acc[:, y0:y0 + win, x0:x0 + win] += d
            cnt[y0:y0 + win, x0:x0 + win] += 1
    return acc if how == 'max' else acc / cnt

def minmax(m):
    m = m.clamp_min(0); return m / m.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)

def ranks(m):
    flat = m.flatten(1); r = flat.argsort(1).argsort(1).float() / flat.shape[1]
    return r.view_as(m)

if __name__ == '__main__':
    s = sys.argv[1]; win, stride = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (32, 16)
    cam = pickle.load(open(work/f'cam_{s}.pkl', 'rb')); boxes = cam['boxes']; z = cam['z'].float()
    print(f'seed {s}: n={len(boxes)}  strict / 8 px / 15 px | strict by kind')
    line('CAM z-score (session 9 default)', z, boxes)
    occf = work/f'occ_{s}_{win}_{stride}.pkl'
    if not occf.exists(): sys.exit()
    occ = pickle.load(open(occf, 'rb')); d = occ['drops'].float()
    ref = pickle.load(open(work/f'occ_ref_{win}_{stride}.pkl', 'rb'))['drops'].float() if (work/f'occ_ref_{win}_{stride}.pkl').exists() else None
    om = occ_pixel_map(d, win, stride); line(f'occlusion {win}/{stride}, mean over windows', om, boxes)
    line(f'occlusion {win}/{stride}, max over windows', occ_pixel_map(d, win, stride, how='max'), boxes)
    if ref is not None:
        zd = (d - ref.mean(0)) / ref.std(0).clamp_min(ref.std(0).median())
        line('occlusion minus Clean mean', occ_pixel_map(d - ref.mean(0), win, stride), boxes)
        line('occlusion z vs Clean (floor 1 x median)', occ_pixel_map(zd, win, stride), boxes)
    line('CAM z x occlusion (minmax product)', minmax(z) * minmax(om), boxes)
    line('CAM z + occlusion (minmax sum)', minmax(z) + minmax(om), boxes)
    line('CAM z rank + occlusion rank', ranks(z) + ranks(om), boxes)
    for a in (0.25, 0.5):
        line(f'CAM z minmax + {a} occlusion minmax', minmax(z) + a * minmax(om), boxes)

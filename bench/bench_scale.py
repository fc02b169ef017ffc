"""Scale handling and cross-generator transfer of the `probe` recipe (issue 18), one command:

    .venv/bin/python bench/bench_scale.py [--model bench/results/faces_probe] [--threads 2]

1. Trains `recipes.train_recipe_detector(read_splits(FACES, seed=0), 'probe')` into --model unless it exists
   (faces140k-sample: 700 train / 150 val / 150 test). A folder saved before the scale record existed gets it
   from `detector.training_scale` on the same table (the weights and their SHA-256 are untouched).
2. Scale sweep on the 150 test images: each rescaled by 0.5, 0.75, 1.5, 2, 4 (`robustness.rescale`, re-encoded as
   JPEG 95), scored with the scale record ('after': the input is first brought to the training short side) and
   without it ('before': the old native centre crop / pad). AUC per factor, and its move from native.
3. Cross-generator: the 505 Stable Diffusion 2.1 portraits of portrait-qa-dev (768 px, all generated: label 0
   Artifact whatever their quality label) against the 150 test photographs' real half (label 1), at matched scale
   (after) and as before (centre crop); AUC and the share flagged at the val threshold.
4. Predict throughput at native scale, with and without the record (alternating, 3 rounds, 64 test images).

Scores are cached under bench/results/scale_scores/ (delete to recompute). Writes bench/results/scale.md.

    .venv/bin/python bench/bench_scale.py --variants [--copy-seed 0] [--head-seed 0] [--threads 1]

instead compares, on cached probe features (bench/results/scale_copies/), the probe head trained without and with
altered training copies (`probe.copy_features`: blur/JPEG after Wang et al. 2020, down-and-up rescale; one or two of
each): val and native test AUC, the full sweep 0.5-4x as JPEG and PNG, the SD 2.1 cross-set AUC, head fit time.
Writes bench/results/scale_copies[_seedN][_headN].md.
"""
import argparse, json, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1]/'shared'/'data'
FACTORS = (0.5, 0.75, 1.5, 2, 4)


def cached(name: str, fn, cache: Path):
    "Scores `fn()` cached as `cache/name.npy`."
    import numpy as np
    f = cache/f'{name}.npy'
    if f.is_file(): return np.load(f)
    t0 = time.perf_counter(); p = np.asarray(fn(), dtype=float); np.save(f, p)
    print(f'  {name}: {len(p)} images in {time.perf_counter() - t0:.0f} s', flush=True)
    return p


def ensure_model(folder: Path, table):
    "Train the probe recipe into `folder` unless it is there; add the scale record if the folder lacks it."
    from artifact_fastai.recipes import train_recipe_detector
    from artifact_fastai.probe import probe_dataloaders
    from artifact_fastai.detector import training_scale
    if not (folder/'config.json').is_file(): train_recipe_detector(table, 'probe', out=folder, quiet=True)
    cfg = json.loads((folder/'config.json').read_text())
    if 'scale' not in cfg['extra']:
        cfg['extra']['scale'] = training_scale(probe_dataloaders(table, check=False))
        (folder/'config.json').write_text(json.dumps(cfg, indent=2, sort_keys=True) + '\n')
    return cfg['extra']['scale']


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=str(HERE/'results'/'faces_probe'))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--before', default='0.5,0.75,1.5,2,4', help="factors also scored without the scale record ('' for none)")
    ap.add_argument('--sd-before', action='store_true', help='also score the SD portraits without the scale record (centre crop)')
    ap.add_argument('--speed-n', type=int, default=64, help='images of the throughput check (0: skip)')
    ap.add_argument('--variants', action='store_true', help='instead: probe vs probe + altered training copies on cached features')
    ap.add_argument('--copy-seed', type=int, default=0, help='--variants: seed of the altered copies')
    ap.add_argument('--no-sd', action='store_true', help='--variants: skip the SD portraits')
    ap.add_argument('--head-seed', type=int, default=0, help="--variants: seed of the heads' initialisation and batches")
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    if args.variants: return variants_main(args)
    import numpy as np, pandas as pd, torch
    torch.set_num_threads(args.threads)
    from artifact_fastai.core import ARTIFACT, CLEAN
    from artifact_fastai.data import read_splits, open_image
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.metrics import binary_metrics
    from artifact_fastai.robustness import rescale, perturb_images
    from artifact_fastai.report import markdown_table
    faces, sd = DATA/'faces140k-sample', DATA/'portrait-qa-dev'
    if not (faces/'labels.csv').is_file(): raise SystemExit(f'no labels.csv under {faces}: nothing to measure')
    table = read_splits(faces, seed=0)
    scale = ensure_model(Path(args.model), table)
    det = load_detector(args.model); side = det.scale_side
    cache = HERE/'results'/'scale_scores'; cache.mkdir(parents=True, exist_ok=True)
    test = table[table.split == 'test']
    images, y = [open_image(faces/p) for p in test.path], test.label.to_numpy(int)
    t = det.config.threshold

    def score(imgs, rescaled: bool):
        det.scale_side = side if rescaled else None
        try: return det.predict_proba(imgs)
        finally: det.scale_side = side
    auc = lambda yy, p: binary_metrics(yy, p, t)['auc']
    native = cached('native', lambda: score(images, True), cache)
    rows = [dict(factor='1 (native)', side=256, auc_after=auc(y, native), auc_before=auc(y, native))]
    after = {f: cached(f'after_{f:g}', lambda: score(perturb_images(images, rescale(f, 'jpeg')), True), cache) for f in FACTORS}
    real = native[y == CLEAN]
    p_sd_after = None
    if (sd/'labels.csv').is_file():
        sd_paths = pd.read_csv(sd/'labels.csv').image.tolist()
        p_sd_after = cached('sd_after', lambda: score([open_image(sd/p) for p in sd_paths], True), cache)
    before_f = [float(f) for f in args.before.split(',') if f.strip()]
    before = {f: cached(f'before_{f:g}', lambda: score(perturb_images(images, rescale(f, 'jpeg')), False), cache) for f in before_f}
    for f in FACTORS:
        rows.append(dict(factor=f'{f:g}', side=round(256 * f), auc_after=auc(y, after[f]),
                         auc_before=auc(y, before[f]) if f in before else float('nan')))
    sweep = pd.DataFrame(rows)
    sweep['move_after'] = sweep.auc_after - sweep.auc_after.iloc[0]
    sweep['move_before'] = sweep.auc_before - sweep.auc_before.iloc[0]
    out = [f"# Scale sweep and cross-generator check (issue 18)\n\nmodel {args.model}, scale record {scale}, threshold {t:.4f} (val)\n",
           "## AUC on the 150 test images of faces140k-sample, rescaled (JPEG 95), both classes alike\n", markdown_table(sweep, 4)]
    if p_sd_after is not None:
        p_sd_before = cached('sd_before', lambda: score([open_image(sd/p) for p in sd_paths], False), cache) if args.sd_before else None
        yy = np.r_[np.full(len(p_sd_after), ARTIFACT), np.full(len(real), CLEAN)]
        cross = pd.DataFrame([dict(input=name, n_sd=len(p), n_real=len(real), auc=auc(yy, np.r_[p, real]),
                                   flagged_sd=float((p >= t).mean()), flagged_real=float((real >= t).mean()))
                              for name, p in (('matched scale (768 -> 256 px)', p_sd_after), ('before: native centre crop', p_sd_before)) if p is not None])
        cross['same_generator_test_auc'] = auc(y, native)
        out += ["\n## StyleGAN-trained probe: SD 2.1 portraits (all label 0) vs the real test photographs (label 1)\n", markdown_table(cross, 4)]
    few = images[:args.speed_n]; rates = {True: [], False: []}
    for _ in range(3 if few else 0):
        for r in (False, True):
            t0 = time.perf_counter(); score(few, r); rates[r].append(len(few) / (time.perf_counter() - t0))
    if few: out.append(f"\n## Predict throughput at native scale ({len(few)} images, {args.threads} threads, median of 3 alternating)\n\n"
               f"with scale record {np.median(rates[True]):.2f} img/s, without {np.median(rates[False]):.2f} img/s, "
               f"ratio {np.median(rates[True]) / np.median(rates[False]):.3f}")
    text = '\n'.join(out) + '\n'
    (HERE/'results'/'scale.md').write_text(text); print(text)


# ---- `--variants`: the probe against the probe with altered training copies, on cached features (session 9) ----
VARIANTS = {'probe': (), 'probe + copies (blur_jpeg, rescale)': ('blur_jpeg', 'rescale'),
            'probe + blur_jpeg copies': ('blur_jpeg',), 'probe + rescale copies': ('rescale',),
            'probe + 2 copies of each (blur_jpeg, rescale, blur_jpeg, rescale)': ('blur_jpeg', 'rescale', 'blur_jpeg', 'rescale')}
FORMATS = ('jpeg', 'png')


def feature_cache(name: str, fn, cache: Path, log: dict):
    "Features `fn()` cached as `cache/name.npy` (extraction seconds noted in `log`)."
    import numpy as np
    f = cache/f'{name}.npy'
    if f.is_file(): return np.load(f)
    t0 = time.perf_counter(); X = np.asarray(fn(), dtype=np.float32); np.save(f, X)
    log[name] = round(time.perf_counter() - t0, 1)
    print(f'  {name}: {X.shape} in {log[name]:.0f} s', flush=True)
    done = cache/'extract_s.json'
    done.write_text(json.dumps({**(json.loads(done.read_text()) if done.is_file() else {}), **log}, indent=1))
    return X


def scaled_features(model, images, side: int = 256, bs: int = 16):
    "Probe features of PIL `images` as a detector with a `side` px scale record sees them (rescale, native centre crop)."
    import numpy as np, torch
    from artifact_fastai.detector import rescale_to_side
    from artifact_fastai.data import resize_transforms
    crop = resize_transforms(side, 'native')
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    def prep(im):
        im = rescale_to_side(im.convert('RGB'), side)
        for tfm in crop: im = tfm(im, split_idx=1)
        return torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1)
    out = []
    for s in range(0, len(images), bs):
        x = (torch.stack([prep(im) for im in images[s:s + bs]]).float() / 255 - mean) / std
        out.append(model.features(x.contiguous(memory_format=torch.channels_last)).numpy())
    return np.concatenate(out)


def variants_main(args):
    "Side by side on cached features: the probe vs the probe with altered training copies (sweep, native, val, SD)."
    import numpy as np, pandas as pd, torch
    torch.set_num_threads(args.threads)
    from artifact_fastai.core import ARTIFACT, CLEAN
    from artifact_fastai.data import read_splits, open_image
    from artifact_fastai.probe import (PROBE_ARCHS, feature_probe, probe_dataloaders, table_features, copy_features, rows_by_split,
                                       with_copies, fit_fused_head, feature_blocks, probe_metrics, head_proba, copy_seeds)
    from artifact_fastai.robustness import rescale, perturb_images
    from artifact_fastai.metrics import binary_metrics
    from artifact_fastai.report import markdown_table
    faces, sd = DATA/'faces140k-sample', DATA/'portrait-qa-dev'
    if not (faces/'labels.csv').is_file(): raise SystemExit(f'no labels.csv under {faces}: nothing to measure')
    table = read_splits(faces, seed=0)
    cache = HERE/'results'/'scale_copies'; cache.mkdir(parents=True, exist_ok=True)
    log = {}
    model = feature_probe(PROBE_ARCHS)
    dls = probe_dataloaders(table, check=False)
    X = feature_cache('faces', lambda: table_features(model, dls, progress=False)[0], cache, log)
    y = dls.split_df.label.to_numpy(int)
    feats = rows_by_split(X, y, dls.split_df.split.to_numpy())
    needed = sorted({(k, s) for v in VARIANTS.values() for k, s in zip(v, copy_seeds(v, args.copy_seed))})  # the n-th copy of a kind: seed + n
    copies = {(k, s): feature_cache(f'copy_{k}_s{s}', lambda k=k, s=s: copy_features(model, dls, [k], s, progress=False)[0], cache, log)
              for k, s in needed}
    y_train = feats['train'][1]
    test = dls.split_df[dls.split_df.split == 'test']
    images = [open_image(faces/p) for p in test.path]
    sweep = {(fmt, f): feature_cache(f'sweep_{fmt}_{f:g}', lambda fmt=fmt, f=f: scaled_features(model, perturb_images(images, rescale(f, fmt))), cache, log)
             for f in FACTORS for fmt in FORMATS}
    has_sd = (sd/'labels.csv').is_file() and not args.no_sd
    if has_sd:
        X_sd = feature_cache('sd', lambda: scaled_features(model, [open_image(sd/p) for p in pd.read_csv(sd/'labels.csv').image]), cache, log)
    y_test = feats['test'][1]
    blocks = feature_blocks(model)
    summary, moves = [], []
    for name, kinds_v in VARIANTS.items():
        fv = with_copies(feats, (np.concatenate([copies[k, s] for k, s in zip(kinds_v, copy_seeds(kinds_v, args.copy_seed))]),
                                 np.tile(y_train, len(kinds_v)))) if kinds_v else feats
        t0 = time.perf_counter()
        head = fit_fused_head(*fv['train'], *fv['val'], blocks, epochs=30, lr=1e-3, wd=0.5, seed=args.head_seed)
        head_s = time.perf_counter() - t0
        m, t = probe_metrics(fv, head)
        auc = lambda yy, p: binary_metrics(yy, p, float(t))['auc']
        row = dict(variant=name, train_rows=len(fv['train'][1]), val_auc=m['val_auc'], test_auc=m['test_auc'])
        worst = 0.0
        for fmt in FORMATS:
            mv = dict(variant=name, format=fmt, native=m['test_auc'])
            for f in FACTORS:
                a = auc(y_test, head_proba(head, sweep[(fmt, f)])); mv[f'{f:g}x'] = a
                worst = max(worst, abs(a - m['test_auc']))
            moves.append(mv)
        row['largest_move'] = worst
        row['goal_met'] = bool(worst <= 0.02 and m['test_auc'] >= 0.93)
        if has_sd:
            p_sd, real = head_proba(head, X_sd), head_proba(head, feats['test'][0])[y_test == CLEAN]
            row['sd_auc'] = auc(np.r_[np.full(len(p_sd), ARTIFACT), np.full(len(real), CLEAN)], np.r_[p_sd, real])
            row['sd_flagged'] = float((p_sd >= float(t)).mean())
        row['head_fit_s'] = round(head_s, 1)
        row['threshold'] = float(t)
        summary.append(row)
    extract = json.loads((cache/'extract_s.json').read_text()) if (cache/'extract_s.json').is_file() else {}
    moves = pd.DataFrame(moves)
    for f in FACTORS: moves[f'move {f:g}x'] = moves[f'{f:g}x'] - moves['native']
    out = ["# The probe with altered training copies (issue 18, session 9)\n",
           f"faces140k-sample, read_splits(seed=0): {len(feats['train'][1])} train / {len(feats['val'][1])} val / {len(y_test)} test; "
           f"copy seed {args.copy_seed}, head seed {args.head_seed}; {args.threads} torch thread(s)\n",
           "## Summary (goal: every move <= 0.02 and test AUC >= 0.93)\n", markdown_table(pd.DataFrame(summary), 4),
           "\n## Test AUC per rescaling (both classes alike; re-encoded as JPEG 95 or PNG; brought back to 256 px by the scale record)\n",
           markdown_table(moves, 4),
           "\n## Feature extraction (s, this cache's first pass)\n", ', '.join(f'{k} {v:.0f}' for k, v in extract.items())]
    text = '\n'.join(out) + '\n'
    tag = ''.join(f'_{n}{v}' for n, v in (('seed', args.copy_seed), ('head', args.head_seed)) if v)
    (HERE/'results'/f'scale_copies{tag}.md').write_text(text); print(text)


if __name__ == '__main__':
    main()

"""Tiled detector variants on the portrait QA set (issue 17): 5-fold GROUP cross-validation (groups = `prompt`,
stratified by label), features cached per member under bench/results/portrait_cache/ so that variants are cheap.

    .venv/bin/python bench/bench_portrait.py --data ../shared/data/portrait-qa-dev            # every variant
    .venv/bin/python bench/bench_portrait.py --variants default lite0-768 --speed              # + predict img/s

Per variant: mean (sd) over folds of test AUC, AP and accuracy at the max-accuracy threshold chosen on each fold's
val split; Artifact recall and precision at a target-precision 0.85 threshold chosen on val; the recall at
precision >= 0.85 read off the pooled out-of-fold PR curve (threshold-free, like AUC); recall per category at the
max-accuracy threshold (pooled over folds); head training time; feature-extraction time of the 505 images; and
(with --speed) predict throughput of `TiledDetector.predict_proba` on 768 px images, 2 torch threads; with
--speed-only also the CPU seconds per image and the throughput they imply on two cores nobody else uses.
"""
from __future__ import annotations
import argparse, json, os, sys, time
from pathlib import Path
from dataclasses import replace

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
import pandas as pd
import torch
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedGroupKFold

from artifact_fastai.core import ARTIFACT
from artifact_fastai.data import read_splits, check_dataset, open_image
from artifact_fastai.metrics import choose_threshold, binary_metrics, category_recall
from artifact_fastai.tiles import (TileMember, TiledSettings, global_stats, tiled_detector, extract_tiled_features, read_categories,
                                   category_names, category_targets, fit_member_heads, heads_logits, sigmoid, text_member,
                                   hand_member)

RESULTS = Path(__file__).parent/'results'
L0_768, L0_384 = TileMember('efficientnet_lite0', 768, 5, 1/3), TileMember('efficientnet_lite0', 384, 3, 1/2)
L1_384, L2_384 = TileMember('efficientnet_lite1', 384, 3, 1/2), TileMember('efficientnet_lite2', 384, 3, 1/2)
L0_768_WHOLE = TileMember('efficientnet_lite0', 768, 1)
TEXT_768_TILES = text_member(768, 5, 1/3, pool='tiles')   # CRAFT region / affinity maps per tile (recipe 'tiled_text' until session 9)
TEXT_768 = text_member(768, 5, 1/3)   # the same maps, whole image + max over tiles (`pool='global'`, recipe 'tiled_text' now)
HAND_768 = hand_member(768, 5, 1/3)   # MediaPipe palm score / hand presence maps
VARIANTS = {  # name -> (members, settings overrides); run in this order
    'lite0-768 whole only (no tiles)': ((L0_768_WHOLE,), {}),
    'lite0-768 tiles, mean pool': ((L0_768,), dict(pooling='mean')),
    'lite0-768 tiles, max pool': ((L0_768,), dict(pooling='max')),
    'lite0-768 tiles, lse pool': ((L0_768,), {}),
    'lite0-768 + lite2-384': ((L0_768, L2_384), {}),
    'lite2-384 tiles': ((L2_384,), {}),
    'lite0-384 tiles': ((L0_384,), {}),
    'default: lite0-768 + lite0-384': ((L0_768, L0_384), {}),
    'lite0-768 tiles, attention pool': ((L0_768,), dict(pooling='attention')),
    'lite0-768 tiles, lse, no category heads': ((L0_768,), dict(categories=False)),
    'lite0-768 + lite1-384 + lite2-384': ((L0_768, L1_384, L2_384), {}),
    'tiled_text: default + craft-768 text maps': ((L0_768, L0_384, TEXT_768_TILES), {}),
    'default + hand maps': ((L0_768, L0_384, HAND_768), {}),
    'tiled_text + hand maps': ((L0_768, L0_384, TEXT_768_TILES, HAND_768), {}),
    'default + hand maps, lse fusion': ((L0_768, L0_384, HAND_768), dict(fusion='lse')),
    'tiled_text + hand maps, global text': ((L0_768, L0_384, TEXT_768, HAND_768), {}),
    'tiled_text + hand maps, global text, lse fusion': ((L0_768, L0_384, TEXT_768, HAND_768), dict(fusion='lse')),
    'tiled_text + hand maps, lse fusion (tiled text)': ((L0_768, L0_384, TEXT_768_TILES, HAND_768), dict(fusion='lse')),
}

def group_folds(y, groups, n_folds=5, seed=0):
    "(train, val, test) index arrays per fold: StratifiedGroupKFold for test, and again inside the rest for a ~1/6 val."
    outer = StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
    for k, (rest, test) in enumerate(outer.split(np.zeros(len(y)), y, groups)):
        inner = StratifiedGroupKFold(6, shuffle=True, random_state=seed + 1 + k)
        tr, va = next(inner.split(rest, y[rest], groups[rest]))
        yield rest[tr], rest[va], test

def member_features(m: TileMember, files, cache_dir: Path) -> tuple[np.ndarray, float]:
    "Cached features of one member for `files`, and the seconds their extraction took (recorded when first made)."
    if m.grid == 1:  # the whole-image instance is the same in any tiling: slice it from the tiled member's cache
        X, s = member_features(TileMember(m.arch, m.scale, 5, 1/3, m.levels), files, cache_dir)
        return X[:, :1], s
    if m.pool == 'global':  # the same statistics as the tiles' cache, summarised as `TiledModel.features` does
        X, s = member_features(replace(m, pool='tiles'), files, cache_dir)
        return global_stats(torch.from_numpy(X)).numpy(), s
    name = f"{m.arch}_s{m.scale}_g{m.grid}_f{m.tile_frac:.3f}"
    cache, meta = cache_dir/f'{name}.npz', cache_dir/f'{name}.json'
    t0 = time.perf_counter()
    det = tiled_detector((m,))
    X = extract_tiled_features(det, files, progress=False, cache=cache)[0]
    if not meta.is_file(): meta.write_text(json.dumps({'extract_s': round(time.perf_counter() - t0, 1), 'n': len(files)}))
    return X.astype(np.float32), json.loads(meta.read_text())['extract_s']

def recall_at_precision(y_art, p, precision=0.85) -> float:
    "Highest recall whose precision is at least `precision` on the PR curve of (`y_art`, `p`)."
    prec, rec, _ = precision_recall_curve(y_art, p)
    return float(rec[prec >= precision].max()) if (prec >= precision).any() else 0.0

def fold_metrics(y, p, va, te) -> tuple[dict, np.ndarray]:
    "One fold's test metrics of P(Artifact) `p` at the val-chosen max-accuracy and target-precision 0.85 thresholds, and its max-accuracy calls."
    ta = choose_threshold(y[va], p[va], 'max_accuracy')
    with np.errstate(all='ignore'): tp = choose_threshold(y[va], p[va], 'target_precision', target_precision=0.85)
    m, mp = binary_metrics(y[te], p[te], ta), binary_metrics(y[te], p[te], tp)
    return dict(auc=m['auc'], ap=m['ap'], accuracy=m['accuracy'], balanced_accuracy=m['balanced_accuracy'],
                rec_p85=mp['recall'], prec_p85=mp['precision']), p[te] >= ta

def evaluate_variant(feats, T, y, cats, folds, s: TiledSettings) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float]:
    "Per-fold test metrics, pooled out-of-fold P(Artifact), pooled max-accuracy decisions, mean head-fit seconds."
    rows, P, called, fit_s = [], np.zeros(len(y)), np.zeros(len(y), bool), []
    for tr, va, te in folds:
        t0 = time.perf_counter(); heads = fit_member_heads(feats, T, tr, va, s); fit_s.append(time.perf_counter() - t0)
        p = sigmoid(heads_logits(heads, feats, fusion=s.fusion)[:, 0]); P[te] = p[te]
        r, called[te] = fold_metrics(y, p, va, te); rows.append(r)
    return pd.DataFrame(rows), P, called, float(np.mean(fit_s))

def predict_speed(members, files, n=24, bs=4) -> tuple[float, float]:
    "(wall img/s, CPU seconds per image) of `TiledDetector.predict_proba` (random heads: same cost) on `n` files, decoding included, 2 threads."
    det = tiled_detector(members)
    det.predict_proba([open_image(f) for f in files[:bs]])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(0, n, bs): det.predict_proba([open_image(f) for f in files[s:s + bs]])
    return n / (time.perf_counter() - t0), (time.process_time() - c0) / n

def summary_row(name, folds_df, P, called, y, cats, fit_s, extract_s, speed) -> dict:
    "One row of the bench table."
    art = y == ARTIFACT
    row = {'variant': name}
    for k in ('auc', 'ap', 'accuracy', 'rec_p85', 'prec_p85'):
        row[k] = f"{folds_df[k].mean():.3f} ({folds_df[k].std():.3f})"
    row['oof_rec@p>=0.85'] = round(recall_at_precision(art, P), 3)
    cr = category_recall(y, called.astype(float), 0.5, cats.tolist())
    row.update({f'rec_{r.category} (n={r.n})': round(r.recall, 2) for r in cr.itertuples()})
    row.update(head_fit_s=round(fit_s, 1), extract_s=round(extract_s), predict_img_s=speed)
    return row

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=str(Path(__file__).parents[1]/'../shared/data/portrait-qa-dev'))
    ap.add_argument('--variants', nargs='*', default=None, help='substrings of variant names (default: all)')
    ap.add_argument('--speed', action='store_true', help='also measure predict img/s per variant')
    ap.add_argument('--speed-only', action='store_true', help='only measure predict img/s (no cross-validation)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    df, _ = check_dataset(read_splits(args.data))
    df = df.reset_index(drop=True)
    root = Path(df.attrs['root']); files = [root/p for p in df.path]
    cats, groups = read_categories(df), read_categories(df, 'prompt').to_numpy()
    y = df.label.astype(int).to_numpy()
    folds = list(group_folds(y, groups, seed=args.seed))
    names = category_names(cats, y)  # the category vocabulary (names only; no labels leak into the features)
    cache_dir = RESULTS/'portrait_cache'; cache_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (members, over) in VARIANTS.items():
        if args.variants and not any(v in name for v in args.variants): continue
        s = TiledSettings(members=members, **over)
        if args.speed_only:
            wall, cpu = predict_speed(members, files)
            rows.append({'variant': name, 'predict_img_s': round(wall, 2), 'cpu_s_per_img': round(cpu, 3),
                         'img_s_on_2_free_cores': round(2 / cpu, 2), 'load_avg_1min': os.getloadavg()[0]})
            print(rows[-1], flush=True); continue
        got = [member_features(m, files, cache_dir) for m in members]
        feats, extract_s = [g[0] for g in got], sum(g[1] for g in got)
        T = category_targets(y, cats if s.categories else None, names if s.categories else [])
        fd, P, called, fit_s = evaluate_variant(feats, T, y, cats, folds, s)
        speed = round(predict_speed(members, files)[0], 2) if args.speed else None
        rows.append(summary_row(name, fd, P, called, y, cats, fit_s, extract_s, speed))
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    out = RESULTS/('bench_portrait_speed.csv' if args.speed_only else 'bench_portrait.csv')
    table.to_csv(out, index=False); print(markdown(table)); print(f'written {out}')

def markdown(table: pd.DataFrame) -> str:
    "`table` as a Markdown table (no extra dependency)."
    cells = [[str(c) for c in table.columns]] + [['' if pd.isna(v) else str(v) for v in r] for r in table.itertuples(index=False)]
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in cells[:1] + [['---'] * len(cells[0])] + cells[1:])

if __name__ == '__main__': main()

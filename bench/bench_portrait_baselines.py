"""Reference rows for the portrait QA table (issue 17): plain fastai and the frozen-feature probe on bench_portrait's folds.

The issue's reference figures were measured on the other half of the source; these rows put the same two approaches on
the 5 group folds of `bench_portrait.py` (same folds, same val rows for the thresholds, same columns), so the tiled
recipes' figures have a like-for-like baseline:

- `plain`: what a fastai user writes first: `vision_learner` over timm's Lite0 (the offline ImageNet checkpoint), items
  squished to 224 px, fastai's default augmentation-free pipeline, cross-entropy, `fine_tune(3)`.
- `probe`: the `probe` recipe's features (frozen Lite0+1+2 at native 256 px: a centre crop of the 768 px portraits)
  with its head (a linear head per backbone, fused), without its altered training copies (they target rescaled and
  recompressed images, not this task).

    .venv/bin/python bench/bench_portrait_baselines.py --data ../shared/data/portrait-qa-dev [--models plain probe]
"""
import argparse, sys, time
from pathlib import Path

import numpy as np, pandas as pd, torch
from fastai.vision.all import ImageDataLoaders, Resize, vision_learner, CrossEntropyLossFlat

sys.path.insert(0, str(Path(__file__).parent))
from bench_portrait import group_folds, fold_metrics, summary_row, markdown
from artifact_fastai.core import ARTIFACT
from artifact_fastai.data import check_dataset, read_splits
from artifact_fastai.learner import resolve_pretrained
from artifact_fastai.probe import (PROBE_ARCHS, feature_probe, probe_dataloaders, table_features, feature_blocks,
                                   fit_fused_head, head_proba)
from artifact_fastai.tiles import read_categories


def plain_fastai_proba(df: pd.DataFrame, root: str, tr, va, size: int = 224, seed: int = 0) -> np.ndarray:
    "P(Artifact) of every row after plain fastai training on rows `tr` (val `va`)."
    from fastai.torch_core import set_seed
    set_seed(seed, reproducible=True)
    d = df.iloc[np.concatenate([tr, va])][['path', 'label']].copy()
    d['label'] = d.label.map({0: 'Artifact', 1: 'Clean'}); d['is_valid'] = [False] * len(tr) + [True] * len(va)
    dls = ImageDataLoaders.from_df(d, root, fn_col='path', label_col='label', valid_col='is_valid',
                                   item_tfms=Resize(size, method='squish'), bs=16, num_workers=0, seed=seed)
    assert list(dls.vocab) == ['Artifact', 'Clean'], dls.vocab   # class 0 = Artifact, as the product's VOCAB
    weights, _ = resolve_pretrained('efficientnet_lite0')
    learn = vision_learner(dls, 'efficientnet_lite0', pretrained=True, loss_func=CrossEntropyLossFlat(),
                           pretrained_cfg_overlay={'state_dict': weights})
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(3)
    with learn.no_bar(): probs, _ = learn.get_preds(dl=dls.test_dl(df.path.map(lambda p: f'{root}/{p}').tolist()))
    return probs[:, ARTIFACT].numpy().astype(np.float64)


def probe_table_features(df: pd.DataFrame, seed: int = 0) -> tuple[np.ndarray, list[slice], float]:
    "The probe recipe's features of every row of split table `df` (in order), their backbone blocks and extraction seconds."
    model = feature_probe(PROBE_ARCHS)
    t0 = time.perf_counter()
    X, _ = table_features(model, probe_dataloaders(df, size=256, bs=32, resize='native', seed=seed, check=False), progress=False)
    return X, feature_blocks(model), time.perf_counter() - t0


def run_model(name, df, root, y, cats, folds, size: int = 224):
    "Per-fold rows, pooled out-of-fold P(Artifact), pooled max-accuracy calls, mean seconds per fold (fit + scoring all rows), extract seconds."
    rows, P, called, fit_s, extract_s = [], np.zeros(len(y)), np.zeros(len(y), bool), [], 0.0
    if name == 'probe': X, blocks, extract_s = probe_table_features(df)
    for k, (tr, va, te) in enumerate(folds):
        t0 = time.perf_counter()
        if name == 'plain': p = plain_fastai_proba(df, root, tr, va, size)
        else: p = head_proba(fit_fused_head(X[tr], y[tr], X[va], y[va], blocks, epochs=30, lr=1e-3, wd=0.5), X)
        fit_s.append(time.perf_counter() - t0)
        r, c = fold_metrics(y, p, va, te); rows.append(r); P[te] = p[te]; called[te] = c
        print(f"{name} fold {k}: AUC {r['auc']:.3f} AP {r['ap']:.3f} ({fit_s[-1]:.0f} s)", flush=True)
    return pd.DataFrame(rows), P, called, float(np.mean(fit_s)), extract_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=str(Path(__file__).parents[1]/'../shared/data/portrait-qa-dev'))
    ap.add_argument('--models', nargs='*', default=['probe', 'plain'], choices=['probe', 'plain'])
    ap.add_argument('--size', type=int, default=224, help="plain fastai's squish size")
    ap.add_argument('--save-oof', default=None, help='write the pooled out-of-fold P(Artifact) of each model to this .npz')
    args = ap.parse_args()
    torch.set_num_threads(2)
    df, _ = check_dataset(read_splits(args.data)); df = df.reset_index(drop=True)
    root = df.attrs['root']; y = df.label.astype(int).to_numpy()
    cats, groups = read_categories(df), read_categories(df, 'prompt').to_numpy()
    folds = list(group_folds(y, groups))
    table, oof = [], {}
    for name in args.models:
        t0 = time.perf_counter()
        res = run_model(name, df, root, y, cats, folds, args.size)
        label = f'plain fastai, {args.size} px squish, fine_tune(3)' if name == 'plain' else 'probe recipe features + head (no copies)'
        table.append(summary_row(label, res[0], res[1], res[2], y, cats, res[3], res[4], None)); oof[name] = res[1]
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(markdown(pd.DataFrame(table)))
    if args.save_oof: np.savez(args.save_oof, y=y, **oof)


if __name__ == '__main__': main()

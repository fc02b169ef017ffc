"Paths and the evaluation protocol shared by the probe exploration scripts (commands and results: bench/README.md, session 5)."
import os
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
DATA = os.environ.get('FACES', str(HERE.parents[2]/'shared'/'data'/'faces140k-sample'))
CACHE = HERE.parent/'results'/'probe_explore'
CACHE.mkdir(parents=True, exist_ok=True)


def cached(arch: str = 'efficientnet_lite0', size: int = 256) -> dict:
    "The cache written by cache_maps.py: blocks.2 maps, level 1-2 stats, labels, the fixed split and the table."
    return torch.load(CACHE/f'{arch}_{size}.pt', weights_only=False)


def split_sets(c: dict, n_folds: int = 5) -> list:
    "The fixed split `read_splits(seed=0)` followed by the folds of `recipes.fold_splits` (seed 0)."
    from artifact_fastai.recipes import fold_splits
    return [c['split']] + [fold_splits(c['table'], n_folds, k, 0).split.to_numpy() for k in range(n_folds)]


def summary_row(name: str, rows: list, n_features: int | str = '') -> str:
    "A table row: fixed-split test AUC / balanced accuracy, then CV mean +- sd of both (rows[0] is the fixed split)."
    auc = np.array([m['test_auc'] for m in rows[1:]]); bal = np.array([m['test_balanced_accuracy'] for m in rows[1:]])
    return (f"| {name} | {n_features} | {rows[0]['test_auc']:.3f} | {rows[0]['test_balanced_accuracy']:.3f} | "
            f"{auc.mean():.3f} +- {auc.std():.3f} | {bal.mean():.3f} +- {bal.std():.3f} |")


def evaluate(X: np.ndarray, y: np.ndarray, splits: list, name: str, blocks: list | None = None) -> str:
    "Fit the probe's fastai head (recipe defaults; one per column block, fused, when `blocks`) on each split set; print the row."
    from artifact_fastai.probe import fit_fused_head, probe_metrics, rows_by_split
    rows = []
    for s in splits:
        fs = rows_by_split(X, y, s)
        rows.append(probe_metrics(fs, fit_fused_head(*fs['train'], *fs['val'], blocks))[0])
    line = summary_row(name, rows, X.shape[1])
    print(line, flush=True)
    return line

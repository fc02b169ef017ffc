"""The `probe` recipe on ../shared/data/faces140k-sample (issue 8), one command:

    .venv/bin/python bench/bench_probe_recipe.py [--data PATH] [--folds 5] [--no-train] [--save models/faces_probe]

1. Variants on one feature pass: the frozen features of every image are extracted once with the recipe's backbones
   (EfficientNet-Lite0/1/2, native 256 px, flip-averaged); each variant is a subset of their columns (means and stds
   of levels 1-4, with or without the level-3 channel correlations; Lite0 alone or all three). For each variant the
   fastai head of `probe.fit_head` (the recipe's defaults) is fitted on the fixed split `read_splits(DATA, seed=0)`
   (700 train / 150 val / 150 test; threshold by Youden on val) and on each fold of `recipes.fold_splits` (5-fold
   stratified; val 15% of all rows from the other folds). The last variant fits one head per backbone and averages
   their logits (`probe.fit_fused_head`, the recipe's head since session 5).
2. The product path, timed: `recipes.train_recipe(DATA, 'probe', out=...)` on the fixed split (features of all
   three splits, head, threshold), the model saved for `artifact-fastai robustness`.

Writes bench/results/probe_recipe.md and prints it.
"""
import argparse, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def column_blocks(model) -> dict:
    "{(body index, 'ms' or 'gram'): column slice} of the probe's feature layout (per body: means/stds, then correlations)."
    from artifact_fastai.probe import feature_blocks
    out = {}
    for i, (cols, b) in enumerate(zip(feature_blocks(model), model.bodies)):
        split = cols.start + 2 * sum(b.body.feature_info.channels())
        out[(i, 'ms')], out[(i, 'gram')] = slice(cols.start, split), slice(split, cols.stop)
    return out


def evaluate(X, y, split_sets: list, head_kw: dict, blocks=None) -> list[dict]:
    "Test AUC / balanced accuracy of the fastai head (one per column block in `blocks`, fused) on each split array."
    from artifact_fastai.probe import fit_fused_head, probe_metrics, rows_by_split
    rows = []
    for split in split_sets:
        feats = rows_by_split(X, y, split)
        m, _ = probe_metrics(feats, fit_fused_head(*feats['train'], *feats['val'], blocks, **head_kw))
        rows.append(m)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=str(DEFAULT_DATA))
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--no-train', action='store_true', help='skip the timed train_recipe run')
    ap.add_argument('--save', default='models/faces_probe', help='where train_recipe saves the model (replaced)')
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    import numpy as np, torch
    from artifact_fastai.data import read_splits
    from artifact_fastai.probe import feature_probe, probe_dataloaders, table_features, feature_blocks
    from artifact_fastai.recipes import get_recipe, probe_settings, train_recipe
    from artifact_fastai.data import fold_splits
    if not (Path(args.data)/'labels.csv').is_file(): raise SystemExit(f"no labels.csv under {args.data}: nothing to measure")
    rec = get_recipe('probe')
    kw = probe_settings(rec)
    head_kw = dict(epochs=kw['epochs'], lr=kw['lr'], wd=kw['wd'])
    df = read_splits(args.data, seed=0)
    dls = probe_dataloaders(df, kw['size'], kw['bs'], kw['resize'])
    model = feature_probe(kw['archs'])
    t0 = time.perf_counter()
    X, y = table_features(model, dls, progress=False)
    extract_s = time.perf_counter() - t0
    table = dls.split_df
    splits = [table.split.to_numpy()] + [fold_splits(table, args.folds, k, 0).split.to_numpy() for k in range(args.folds)]
    blocks = column_blocks(model)
    n = len(model.bodies)
    variants = {
        'Lite0, means + stds of levels 1-4': [blocks[(0, 'ms')]],
        'Lite0, + level-3 channel correlations': [blocks[(0, 'ms')], blocks[(0, 'gram')]],
        'Lite0+1+2, means + stds of levels 1-4': [blocks[(i, 'ms')] for i in range(n)],
        'Lite0+1+2, level-3 channel correlations only': [blocks[(i, 'gram')] for i in range(n)],
        'Lite0+1+2, means + stds + level-3 correlations, one joint head (recipe `probe` in session 4)': [blocks[(i, k)] for i in range(n) for k in ('ms', 'gram')],
    }
    fused = '**Lite0+1+2, means + stds + level-3 correlations, one head per backbone, logits averaged (recipe `probe`)**'
    variants[fused] = [slice(0, X.shape[1])]  # all columns in the model's order: one head per `feature_blocks` block
    lines = ['| variant | features | fixed-split test AUC | test balanced accuracy | val AUC | '
             f'{args.folds}-fold CV test AUC (mean +- sd) | CV balanced accuracy (mean +- sd) | head fits (s) |',
             '|---|---|---|---|---|---|---|---|']
    for name, cols in variants.items():
        Xv = np.concatenate([X[:, c] for c in cols], 1)
        t1 = time.perf_counter()
        fixed, *cv = evaluate(Xv, y, splits, head_kw, feature_blocks(model) if name == fused else None)
        secs = time.perf_counter() - t1
        auc, bal = np.array([m['test_auc'] for m in cv]), np.array([m['test_balanced_accuracy'] for m in cv])
        lines.append(f"| {name} | {Xv.shape[1]} | {fixed['test_auc']:.3f} | {fixed['test_balanced_accuracy']:.3f} | "
                     f"{fixed['val_auc']:.3f} | {auc.mean():.3f} +- {auc.std():.3f} | {bal.mean():.3f} +- {bal.std():.3f} | {secs:.0f} |")
        print(lines[-1], flush=True)
    head = (f"# bench_probe_recipe: {len(df)} images of {args.data}, recipe `probe` ({', '.join(kw['archs'])}; size "
            f"{kw['size']} {kw['resize']}; head {head_kw}), torch threads {torch.get_num_threads()}, load average "
            f"{os.getloadavg()[0]:.1f}\n\nOne feature pass over all {len(df)} images: {extract_s:.0f} s.\n\n")
    text = head + '\n'.join(lines) + '\n'
    if not args.no_train:
        import shutil
        if Path(args.save).exists(): shutil.rmtree(args.save)
        t0 = time.perf_counter()
        _, m = train_recipe(args.data, 'probe', out=args.save, seed=0)
        wall = time.perf_counter() - t0
        text += (f"\n`train_recipe(DATA, 'probe', out='{args.save}')`: {wall:.0f} s wall ({m['extract_s']:.0f} s features of "
                 f"train+val+test, CPU {m['train_cpu_s']:.0f} s); test AUC {m['test_auc']:.3f}, test balanced accuracy "
                 f"{m['test_balanced_accuracy']:.3f}, val AUC {m['val_auc']:.3f}, threshold {m['threshold']:.3f} "
                 f"({m['threshold_source']}).\n")
    out = HERE/'results'/'probe_recipe.md'; out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == '__main__':
    main()

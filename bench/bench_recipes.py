"""Recipe comparison (issue 8): train named variants on one fixed split of ../shared/data/faces140k-sample and
record test ROC AUC, balanced accuracy (threshold chosen on val) and training time; ensembles of finished
variants; k-fold cross-validation of one variant; leave-one-artifact-out on the synthetic dataset.

    .venv/bin/python bench/bench_recipes.py --variants proxy        # the short proxies that rank ideas (128 px crops)
    .venv/bin/python bench/bench_recipes.py --variants full         # the full-length candidates
    .venv/bin/python bench/bench_recipes.py --variants default      # one named variant (see VARIANTS)
    .venv/bin/python bench/bench_recipes.py --ensemble "a+b"        # mean of saved probabilities of variants a and b
    .venv/bin/python bench/bench_recipes.py --cv default --folds 5  # 5-fold CV of a variant
    .venv/bin/python bench/bench_recipes.py --loao                  # leave-one-artifact-out on synthetic data

Fixed split: `read_splits(DATA, seed=0)` (stratified 70/15/15: 700 train, 150 val, 150 test). The threshold is chosen
on val (Youden), AUC and balanced accuracy are reported on test. Runs are sequential (2 shared cores): every row
records wall-clock and process CPU seconds and the 1-minute load average at start, because wall time on a shared
machine is inflated by other users' jobs. Results accumulate in bench/results/recipes.csv (a rerun replaces its
row), probabilities in bench/results/probs/, tables in bench/results/recipes.md, cv_*.csv, loao.csv.
"""
import argparse, json, os, shlex, sys, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
RESULTS = HERE/'results'
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'

P = dict(size=256, resize='native', train_crop=128, freeze_epochs=1, epochs=4)  # proxy: 128 px native crops, 1+4 epochs
VARIANTS = {
    # proxies (rank ideas cheaply: equal training pixels per image, 128x128, 1+4 epochs)
    'p-native128': dict(**P, tta=None, desc='native 128 px crops, eval on whole 256 px image, 1+4 epochs'),
    'p-squish128': dict(size=128, resize='squish', train_crop=None, freeze_epochs=1, epochs=4, tta=None,
                        desc='squish resize to 128 px (train and eval), 1+4 epochs'),
    'p-native128-fastaiaug': dict(**P, tta=None, augment='fastai', desc='+ fastai aug_transforms (rotate/zoom/warp/lighting)'),
    'p-native128-highpass': dict(**P, tta=None, highpass=True, desc='+ high-pass residual channel (4-channel stem)'),
    'p-native128-sbi': dict(**P, tta=None, self_blend=0.2, desc='+ self-blended images, 20% of Clean training items'),
    'p-native128-lite2': dict(**P, tta=None, arch='efficientnet_lite2', desc='EfficientNet-Lite2 backbone'),
    'p-native128-lr5e-3': dict(**P, tta=None, lr=5e-3, desc='base lr 5e-3 (default 2e-3)'),
    # full-length candidates (1+8 epochs, cross-entropy)
    'native256': dict(size=256, resize='native', train_crop=None, loss='ce', epochs=8,
                      desc='whole 256 px image at native resolution (no resize, no crop), flips, 1+8 epochs, CE'),
    'squish224': dict(size=224, resize='squish', train_crop=None, loss='ce', epochs=8,
                      desc='squish resize to 224 px, flips, 1+8 epochs, CE'),
    'baseline': dict(recipe='baseline', desc="issue's plain script: 224 px squish, fine_tune(3), CE"),
    'default': dict(recipe='default', desc='RECIPES["default"]'),
    'fast': dict(recipe='fast', desc='RECIPES["fast"]'),
}
GROUPS = {'proxy': ['p-native128', 'p-squish128', 'p-native128-sbi', 'p-native128-highpass', 'p-native128-fastaiaug',
                   'p-native128-lite2', 'p-native128-lr5e-3'], 'full': ['native256', 'squish224', 'baseline']}


def load1() -> float:
    "The 1-minute load average (how busy the shared machine was)."
    return round(os.getloadavg()[0], 1)


def md_table(df, index=False, digits=3):
    "A Markdown table of `df` (no tabulate dependency)."
    d = df.reset_index() if index else df
    fmt = lambda v: f'{v:.{digits}f}' if isinstance(v, float) else str(v)
    lines = ['| ' + ' | '.join(map(str, d.columns)) + ' |', '|' + '---|' * len(d.columns)]
    return '\n'.join(lines + ['| ' + ' | '.join(fmt(v) for v in row) + ' |' for row in d.itertuples(index=False)])


def split_table(data, seed=0):
    "The fixed, checked split table of `data`."
    from artifact_fastai.data import read_splits, check_dataset
    df, _ = check_dataset(read_splits(data, seed=seed))
    return df


def save_probs(name, learn, extra_tta=True):
    "Write val/test labels and probabilities of `learn` (with and without flip TTA) to results/probs/NAME.npz."
    import numpy as np
    from artifact_fastai.recipes import split_proba
    out = {}
    for s, (y, p) in learn.split_probs.items(): out[f'{s}_y'], out[f'{s}_p'] = y, p
    if extra_tta:
        other = None if learn.recipe.tta == 'flip' else 'flip'
        for s in learn.split_probs: out[f'{s}_p_{other or "none"}'] = split_proba(learn, s, other)[1]
    (RESULTS/'probs').mkdir(parents=True, exist_ok=True)
    np.savez(RESULTS/'probs'/f'{name}.npz', **out)
    return out


def metrics_from_probs(d, key='p'):
    "Threshold on val (Youden), test metrics, from a probs dict."
    from artifact_fastai.metrics import choose_threshold, binary_metrics
    t = choose_threshold(d['val_y'], d[f'val_{key}'], 'youden')
    mt, mv = binary_metrics(d['test_y'], d[f'test_{key}'], t), binary_metrics(d['val_y'], d[f'val_{key}'], t)
    return dict(test_auc=mt['auc'], test_balanced_accuracy=mt['balanced_accuracy'], val_auc=mv['auc'], threshold=float(t))


def record(row):
    "Add or replace `row` (by variant name) in results/recipes.csv and rewrite results/recipes.md."
    import pandas as pd
    RESULTS.mkdir(parents=True, exist_ok=True)
    csv = RESULTS/'recipes.csv'
    df = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    if len(df): df = df[df.variant != row['variant']]
    df = pd.concat([df, pd.DataFrame([row])], ignore_index=True)
    df.to_csv(csv, index=False)
    cols = ['variant', 'test_auc', 'test_balanced_accuracy', 'val_auc', 'train_s', 'train_cpu_s', 'load1', 'threads', 'desc']
    show = df[[c for c in cols if c in df]].copy()
    for c in ('test_auc', 'test_balanced_accuracy', 'val_auc'): show[c] = show[c].map(lambda v: f'{v:.3f}')
    (RESULTS/'recipes.md').write_text(md_table(show) + '\n')
    print(md_table(show), flush=True)


def run_variant(name, df, seed=0):
    "Train variant `name` on the split table `df`, record its rows (and its no-TTA / TTA twin)."
    from artifact_fastai.recipes import train_recipe
    spec = dict(VARIANTS[name]); desc = spec.pop('desc', ''); recipe = spec.pop('recipe', 'default')
    l0 = load1()
    learn, m = train_recipe(df, recipe, seed=seed, check=False, quiet=False, **spec)
    probs = save_probs(name, learn)
    import torch
    base = dict(train_s=m['train_s'], train_cpu_s=m['train_cpu_s'], load1=l0, threads=torch.get_num_threads(), seed=seed,
                settings=json.dumps(m['recipe'], sort_keys=True))
    record(dict(variant=name, desc=desc, test_auc=m['test_auc'], test_balanced_accuracy=m['test_balanced_accuracy'],
                val_auc=m['val_auc'], **base))
    twin = 'none' if learn.recipe.tta == 'flip' else 'flip'
    tm = metrics_from_probs(probs, f'p_{twin}')
    record(dict(variant=f'{name} +tta-{twin}', desc=f'{desc}; scored with tta={twin} (same model)', **tm, **base))


def run_ensemble(expr):
    "Mean of the saved probabilities of the variants in `expr` ('a+b+c'), scored like a variant."
    import numpy as np, pandas as pd
    names = expr.split('+')
    ds = [dict(np.load(RESULTS/'probs'/f'{n}.npz')) for n in names]
    d = {k: ds[0][k] for k in ('val_y', 'test_y')}
    for s in ('val', 'test'): d[f'{s}_p'] = np.mean([x[f'{s}_p'] for x in ds], 0)
    prev = pd.read_csv(RESULTS/'recipes.csv').set_index('variant')
    cost = lambda c: float(sum(prev.loc[n, c] for n in names))
    record(dict(variant=f'ensemble {expr}', desc=f'mean P(Artifact) of {len(names)} models',
                **metrics_from_probs(d), train_s=cost('train_s'), train_cpu_s=cost('train_cpu_s'), load1=load1()))


def run_cv(name, data, folds, seed=0):
    "k-fold CV of variant `name`: per-fold rows and mean/std to results/cv_NAME.csv and .md."
    import pandas as pd
    from artifact_fastai.recipes import cross_validate, cv_summary
    spec = dict(VARIANTS[name]); spec.pop('desc', ''); recipe = spec.pop('recipe', 'default')
    out = RESULTS/f'cv_{name}.csv'
    def log(row):
        row['load1'] = load1(); print(json.dumps(row), flush=True)
        done = pd.read_csv(out) if out.exists() and row['fold'] else pd.DataFrame()
        pd.concat([done, pd.DataFrame([row])]).to_csv(out, index=False)
    cross_validate(data, recipe, n_folds=folds, seed=seed, log=log, **spec)
    res = pd.read_csv(out)
    summary = cv_summary(res)
    keep = ['fold', 'test_auc', 'test_balanced_accuracy', 'val_auc', 'threshold', 'train_s', 'train_cpu_s', 'load1']
    md = md_table(res[keep]) + '\n\n' + ' '.join(f'{k}={v:.3f}' for k, v in summary.items()) + '\n'
    (RESULTS/f'cv_{name}.md').write_text(md)
    print(md)


LOAO_SPECS = {  # recipes compared on 64 px synthetic images (native, 56 px training crops)
    'native': dict(size=64, train_crop=56, epochs=6, bs=32),
    'native+sbi': dict(size=64, train_crop=56, epochs=6, bs=32, self_blend=0.2),
    'squish-ft3': dict(size=64, train_crop=None, resize='squish', epochs=3, loss='ce', tta=None, bs=32),
    'probe': dict(recipe='probe', size=64),  # the frozen-feature recipe (three Lite backbones, late-fusion head)
}


def run_loao(specs, n=400, seed=0):
    "Leave-one-artifact-out: train without one synthetic defect kind, score images that have only that kind."
    import shutil, tempfile, numpy as np, pandas as pd
    from artifact_fastai.synth import make_synthetic_dataset, ARTIFACT_KINDS
    from artifact_fastai.data import read_splits, open_image
    from artifact_fastai.recipes import train_recipe, learner_detector
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.metrics import binary_metrics
    tmp = Path(tempfile.mkdtemp(prefix='loao_'))  # synthetic sets and saved probes, removed at the end
    rows = []
    try:
        for held in ARTIFACT_KINDS:
            seen = tuple(k for k in ARTIFACT_KINDS if k != held)
            train_root = make_synthetic_dataset(tmp/f'without_{held}', n=n, artifact_frac=0.5, size=64, seed=seed, style='traces', kinds=seen)
            held_root = make_synthetic_dataset(tmp/f'only_{held}', n=n // 2, artifact_frac=0.5, size=64, seed=seed + 1, style='traces', kinds=(held,))
            hdf = read_splits(held_root)
            imgs = [open_image(Path(held_root)/p) for p in hdf.path]
            for name in specs:
                spec = dict(LOAO_SPECS[name]); recipe = spec.pop('recipe', 'default')
                if recipe == 'probe':  # a probe is no fastai Learner: save it and open it as users do
                    _, m = train_recipe(train_root, recipe, out=tmp/f'probe_without_{held}', seed=seed, **spec)
                    det = load_detector(tmp/f'probe_without_{held}')
                else:
                    learn, m = train_recipe(train_root, recipe, seed=seed, **spec)
                    det = learner_detector(learn, m['threshold'])
                p = det.predict_proba(imgs)
                hm = binary_metrics(hdf.label.to_numpy(int), p, m['threshold'])
                rows.append(dict(held_out=held, recipe=name, seen_test_auc=m['test_auc'], held_out_auc=hm['auc'],
                                 held_out_balanced_accuracy=hm['balanced_accuracy'], train_s=m['train_s'], load1=load1()))
                print(rows[-1], flush=True)
                pd.DataFrame(rows).to_csv(RESULTS/'loao.csv', index=False)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    df = pd.DataFrame(rows)
    piv = df.pivot(index='held_out', columns='recipe', values='held_out_auc')
    piv.loc['mean'] = piv.mean()
    seen = df.pivot(index='held_out', columns='recipe', values='seen_test_auc')
    seen.loc['mean'] = seen.mean()
    md = ('Held-out kind AUC (Artifact images of the held-out kind vs Clean):\n\n' + md_table(piv, index=True) +
          '\n\nIn-distribution test AUC (kinds seen in training):\n\n' + md_table(seen, index=True) + '\n')
    (RESULTS/'loao.md').write_text(md)
    print(md)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=str(DEFAULT_DATA))
    ap.add_argument('--variants', default='', help="comma-separated names from VARIANTS, or a group: proxy, full")
    ap.add_argument('--ensemble', default='', help="'a+b' (variants already run)")
    ap.add_argument('--cv', default='', help='variant to cross-validate')
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--loao', action='store_true')
    ap.add_argument('--loao-recipes', default=','.join(LOAO_SPECS))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=0,
                    help='torch threads; 0: 1 when the machine is busy (load > cores: two threads then cost ~3x more CPU per step), else all cores')
    a = ap.parse_args(argv)
    import torch
    threads = a.threads or (1 if os.getloadavg()[0] > os.cpu_count() else os.cpu_count())
    torch.set_num_threads(threads)
    print(f'torch threads: {threads} (load {load1()}, {os.cpu_count()} cores)', flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    print('command:', ' '.join(shlex.quote(x) for x in [sys.executable, *sys.argv]), flush=True)
    data = Path(a.data)
    needs_data = a.variants or a.cv or a.ensemble
    if needs_data and not (data/'labels.csv').is_file() and not (data/'train.csv').is_file():
        print(f'skipped: no dataset at {data}'); return
    names = [n for v in a.variants.split(',') if v for n in GROUPS.get(v, [v])]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown: sys.exit(f'unknown variants {unknown}; known: {list(VARIANTS)} or groups {list(GROUPS)}')
    if names:
        df = split_table(data, a.seed)
        for n in names: run_variant(n, df, a.seed)
    for e in filter(None, a.ensemble.split(',')): run_ensemble(e)
    if a.cv: run_cv(a.cv, data, a.folds, a.seed)
    if a.loao: run_loao(a.loao_recipes.split(','), seed=a.seed)


if __name__ == '__main__':
    main()

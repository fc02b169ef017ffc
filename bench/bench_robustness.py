"""Robustness sweep (issue 8): the same detector scored on the fixed test split of ../shared/data/faces140k-sample after
JPEG re-compression (95/75/50), downscaling (0.75/0.5, back to size; and kept small), Gaussian blur and noise, applied
to both classes alike; plus the file-format check (same pixels as PNG; one class re-encoded as JPEG).

    .venv/bin/python bench/bench_robustness.py                       # train RECIPES['default'] on the fixed split, sweep it
    .venv/bin/python bench/bench_robustness.py --model models/recipe_default   # sweep a saved model folder
    .venv/bin/python bench/bench_robustness.py --recipe fast         # train another preset first

The model folder is written to models/recipe_<recipe> (ignored by git) and reused when it exists (delete it or pass
--retrain to train again). Writes bench/results/robustness.{csv,md,png} and bench/results/format_check.md.
"""
import argparse, json, os, shlex, sys, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
RESULTS = HERE/'results'
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def md_table(df, digits=3):
    "A Markdown table of `df` (no tabulate dependency)."
    fmt = lambda v: f'{v:.{digits}f}' if isinstance(v, float) else str(v)
    lines = ['| ' + ' | '.join(map(str, df.columns)) + ' |', '|' + '---|' * len(df.columns)]
    return '\n'.join(lines + ['| ' + ' | '.join(fmt(v) for v in row) + ' |' for row in df.itertuples(index=False)])


def get_model(a, df):
    "Load `--model`, or train `--recipe` on the fixed split (saved under models/) unless already there."
    from artifact_fastai.kinds import load_detector
    folder = Path(a.model) if a.model else HERE.parent/'models'/f'recipe_{a.recipe}'
    if (folder/'config.json').exists() and not a.retrain:
        print(f'using the saved model {folder}', flush=True)
        return load_detector(folder)
    from artifact_fastai.recipes import train_recipe
    print(f'training recipe {a.recipe!r} into {folder}', flush=True)
    _, m = train_recipe(df, a.recipe, out=folder, seed=a.seed, check=False, quiet=False, force=True)
    print(json.dumps({k: v for k, v in m.items() if k != 'recipe'}), flush=True)
    return load_detector(folder)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=str(DEFAULT_DATA))
    ap.add_argument('--model', default='', help='saved model folder to sweep (default: train --recipe)')
    ap.add_argument('--recipe', default='default')
    ap.add_argument('--retrain', action='store_true')
    ap.add_argument('--split', default='test')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=0, help='torch threads; 0: 1 when load > cores, else all cores')
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads or (1 if os.getloadavg()[0] > os.cpu_count() else os.cpu_count()))
    print('command:', ' '.join(shlex.quote(x) for x in [sys.executable, *sys.argv]), flush=True)
    data = Path(a.data)
    if not (data/'labels.csv').is_file() and not (data/'train.csv').is_file():
        print(f'skipped: no dataset at {data}'); return
    from artifact_fastai.data import read_splits, check_dataset
    from artifact_fastai.robustness import robustness_sweep, format_check, plot_sweep, standard_perturbations
    df, _ = check_dataset(read_splits(data, seed=a.seed))
    det = get_model(a, df)
    RESULTS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table = robustness_sweep(det, df, split=a.split, perturbations=standard_perturbations('size'), seed=a.seed)
    table['description'] = table.perturbation.map(table.attrs['descriptions'])
    table.to_csv(RESULTS/'robustness.csv', index=False)
    head = (f"Model: {det.path} (threshold {det.config.threshold:.3f}, {det.config.threshold_source}); "
            f"split '{a.split}' of {data.name}, n={int(table.n.iloc[0])}; {time.perf_counter() - t0:.0f} s.\n\n")
    (RESULTS/'robustness.md').write_text(head + md_table(table) + '\n')
    print(head + md_table(table), flush=True)
    import matplotlib; matplotlib.use('Agg')
    ax = plot_sweep(table[table.perturbation.str.endswith('-small') == False], title=f'{det.config.arch}, {data.name} {a.split}: AUC per perturbation')
    ax.figure.tight_layout(); ax.figure.savefig(RESULTS/'robustness.png', dpi=120)
    fc = format_check(det, df, split=a.split, quality=90, seed=a.seed)
    text = (md_table(fc.fillna('')) + f"\n\nAUC swing (Clean re-encoded minus Artifact re-encoded): {fc.attrs['auc_swing']:+.3f}\n")
    (RESULTS/'format_check.md').write_text(text)
    print(text, flush=True)


if __name__ == '__main__':
    main()

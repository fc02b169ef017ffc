"""GradCAM faithfulness on a real face set: does removing the heatmap's hottest region lower P(Artifact) more than
removing a random region of the same shape? On ../shared/data/faces140k-sample (skipped cleanly when absent).

    .venv/bin/python bench/bench_interpret.py [--data DIR] [--size 128] [--train-images 400] [--epochs 2]
        [--arch efficientnet_lite0] [--methods gradcam gradcampp layercam] [--q 0.1 0.2] [--baselines blur [mean]]
        [--n-random 3] [--roi] [--model models/NAME]

A detector is trained briefly (artifact_learner: focal loss, the offline ImageNet weights of efficientnet_lite0,
`fine_tune`), then for each CAM method `GradCAMInterpretation.faithfulness` scores the validation images it calls
Artifact (with `--model`, a saved detector folder is scored instead of training one, through `from_detector`, so
models can be compared on the same images). Sized for a few minutes on 2 shared cores. Writes bench/results/interpret.md and a few overlay PNGs to
bench/results/gradcam_faces/ (and gradcam_faces_roi/ with --roi).
"""
import argparse, os, sys, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def split_table(data, n_train, seed=0):
    "The split table of `data` with at most `n_train` training rows (stratified by label) and the whole val split."
    import pandas as pd
    from artifact_fastai.data import read_splits
    df = read_splits(data, seed=seed)
    train = df[df.split == 'train']
    frac = min(1.0, n_train/len(train))
    train = train.groupby('label', group_keys=False).sample(frac=frac, random_state=seed)
    sub = pd.concat([train, df[df.split != 'train']]).reset_index(drop=True)
    sub.attrs = dict(df.attrs)
    return sub


def train_detector(table, arch, size, epochs, roi, seed=0):
    "A briefly fine-tuned `artifact_learner` and its validation metrics."
    from fastai.torch_core import set_seed
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.learner import artifact_learner
    dls = artifact_dataloaders(table, size=size, bs=32, roi='face' if roi else None, seed=seed, check=False)
    set_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = artifact_learner(dls, arch)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(epochs, base_lr=2e-3, freeze_epochs=1)
    names = learn.recorder.metric_names[1:-1]
    return learn, dict(zip(names, learn.recorder.values[-1])), time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', type=Path, default=DEFAULT_DATA)
    p.add_argument('--arch', default='efficientnet_lite0')
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--train-images', type=int, default=400)
    p.add_argument('--epochs', type=int, default=2, help='unfrozen epochs of fine_tune (after one frozen epoch)')
    p.add_argument('--methods', nargs='+', default=['gradcam', 'gradcampp', 'layercam'])
    p.add_argument('--q', nargs='+', type=float, default=[0.1, 0.2], help='shares of the image removed')
    p.add_argument('--baselines', nargs='+', default=['blur'], help="'blur' and/or 'mean'")
    p.add_argument('--n-random', type=int, default=3)
    p.add_argument('--overlays', type=int, default=6, help='overlay PNGs to write')
    p.add_argument('--roi', action='store_true', help='train on MediaPipe face crops (needs the face model)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--model', type=Path, default=None, help='a saved detector folder to score instead of training one')
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default; 1 is faster on a crowded machine)')
    a = p.parse_args()
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    if not (a.data/'labels.csv').is_file():
        print(f'SKIP: face sample not found at {a.data}'); return 0
    from artifact_fastai.core import seed_everything
    from artifact_fastai.interpret import GradCAMInterpretation
    seed_everything(a.seed)
    out, t0 = [], time.perf_counter()
    def emit(*lines):
        "Print `lines` now (partial results survive a timeout) and keep them for the results file."
        out.extend(lines); print('\n'.join(lines), flush=True)
    emit(f'# GradCAM faithfulness benchmark\n\ndata: {a.data}, cores: {os.cpu_count()}, load average at start: '
         f'{os.getloadavg()[0]:.1f}, date: {time.strftime("%Y-%m-%d %H:%M")}\n',
         f'command: `.venv/bin/python bench/bench_interpret.py {" ".join(sys.argv[1:])}`\n')
    table = split_table(a.data, a.train_images, a.seed)
    if a.model:
        from artifact_fastai.kinds import load_detector
        det, val = load_detector(a.model), table[table.split == 'val']
        build = lambda method: GradCAMInterpretation.from_detector(det, [str(table.attrs['root']/p) for p in val.path],
                                                                   method=method, labels=list(val.label), bs=32)
        emit(f'## Model\n\n{a.model}: {det!r}; validation split of the data ({len(val)} images)\n')
    else:
        learn, metrics, secs = train_detector(table, a.arch, a.size, a.epochs, a.roi, a.seed)
        build = lambda method: GradCAMInterpretation.from_learner(learn, method=method, bs=32)
        n_train, n_val = (table.split == 'train').sum(), (table.split == 'val').sum()
        emit(f'## Model\n\n{a.arch} at {a.size} px{" on face crops" if a.roi else ""}, {n_train} training images, '
             f'fine_tune(1 frozen + {a.epochs}) in {secs:.0f} s; validation ({n_val} images): ' +
             ', '.join(f'{k} {v:.3f}' for k, v in metrics.items() if v is not None) + '\n')
    emit('## Faithfulness on the validation images called Artifact\n',
         'Drop = mean fall of P(Artifact) when the region is replaced by the baseline; random = the map\'s own region moved '
         f'to {a.n_random} random places. Average drop as in Grad-CAM++ (mean relative fall, %). Win rate = share of images '
         'where the map\'s region hurts more than the random one.\n',
         '| method | q | baseline | images | P(Artifact) | drop, map | drop, random | difference ± SE | ratio | avg drop map % | avg drop random % | win rate | seconds |',
         '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    first = None
    for method in a.methods:
        t = time.perf_counter()
        interp = build(method)
        first = first or interp
        for q in a.q:
            for base in a.baselines:
                f = interp.faithfulness(q=q, baseline=base, n_random=a.n_random, seed=a.seed)
                emit(f'| {method} | {q:.2f} | {base} | {f.n_images} | {f.p_original:.3f} | {f.drop_cam:.3f} | {f.drop_random:.3f} | '
                     f'{f.difference:+.3f} ± {f.difference_se:.3f} | {f.ratio:.2f} | {f.avg_drop_cam:.1f} | {f.avg_drop_random:.1f} | {f.win_rate:.0%} | '
                     f'{time.perf_counter() - t:.0f} |')
                t = time.perf_counter()
    _, idxs = first.top_losses(a.overlays)
    paths = first.save(HERE/'results'/'gradcam_faces', idxs=idxs.tolist(), max_side=256)
    emit(f'\n{len(paths)} overlay PNG(s) of the largest-loss images in {HERE/"results"/"gradcam_faces"}'
         f'{" and gradcam_faces_roi" if a.roi else ""}; total {time.perf_counter() - t0:.0f} s.')
    (HERE/'results').mkdir(exist_ok=True)
    (HERE/'results'/'interpret.md').write_text('\n'.join(out) + '\n')
    return 0


if __name__ == '__main__': sys.exit(main())

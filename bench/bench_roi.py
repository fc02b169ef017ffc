"""Face-ROI benchmark: detection throughput (serial vs parallel precompute, cached rerun, Haar) and epoch time with a
cached face crop vs without ROI, on ../shared/data/faces140k-sample (skipped cleanly when absent).

    .venv/bin/python bench/bench_roi.py [--data DIR] [--size 224] [--train-images 320] [--repeats 3] [--train] [--paired EPOCHS]

Everything is sized to run in about three minutes on 2 shared cores; the files are read once before any timing.
By default the epoch comparison times the data pipeline only (iterating `dls.train`): a training epoch adds the same
model time to both sides, so the data pass is the worst case for the ratio. `--train` also times `learn.fit(1)` with
efficientnet_lite0; run it on a quiet machine (on 2 cores shared by several jobs one epoch took minutes).
Whole epochs vary by about 5% from one to the next on this machine, more than the effect measured; `--paired N`
therefore also interleaves training steps with and without ROI batch by batch on one model for N epochs and reports
the ratio of their sums with a bootstrap confidence interval.

Target (issue 3): an epoch with cached ROI costs at most 1.02x an epoch without ROI. Writes bench/results/roi.md.
"""
import argparse, os, sys, tempfile, time, warnings

import numpy as np
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def detection_rows(files, cache_root, open_fn, haar_n=100):
    "Throughput of precompute_boxes: MediaPipe serial, parallel, a cached rerun, and Haar serial on a subset."
    from artifact_fastai.roi import FaceCrop, precompute_boxes
    rows = []
    for name, workers, cache in [('mediapipe, 1 process', 1, 'mp1'), ('mediapipe, 2 processes', 2, 'mp2'),
                                 ('mediapipe, 2 processes, all cached', 2, 'mp2')]:
        res = precompute_boxes(files, n_workers=workers, progress=False, verbose=False, open_fn=open_fn,
                               backend='mediapipe', cache_dir=cache_root/cache)
        rows.append((name, res.images, res.seconds, res.images/res.seconds, res.faces_found, res.multi_face,
                     res.no_face, len(res.failures)))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        res = precompute_boxes(files[:haar_n], n_workers=1, progress=False, verbose=False, open_fn=open_fn,
                               backend='haar', cache_dir=cache_root/'haar')
    rows.append(('haar, 1 process (subset)', res.images, res.seconds, res.images/res.seconds, res.faces_found,
                 res.multi_face, res.no_face, len(res.failures)))
    return rows


def per_image_cost(files, open_fn, cache_dir, n=200):
    "Milliseconds per image: open, the key hash alone, and a cached FaceCrop call (hash + lookup + crop)."
    from fastai.vision.core import PILImage
    from artifact_fastai.roi import FaceCrop, image_key
    imgs = [PILImage(open_fn(f)) for f in files[:n]]
    tfm = FaceCrop('mediapipe', cache_dir=cache_dir)
    for im in imgs: tfm(im)  # boxes are already on disk: this loads them into memory
    def ms(fn, items):
        t = time.perf_counter()
        for x in items: fn(x)
        return 1000*(time.perf_counter() - t)/len(items)
    return {'open (decode JPEG)': ms(open_fn, files[:n]), 'image_key (SHA-1 of pixels)': ms(image_key, imgs),
            'FaceCrop, cached (key + lookup + crop)': ms(tfm, imgs), 'detector calls': tfm.detector.n_calls}


def subset_table(data, n_train, seed=0):
    "The split table of `data` with `n_train` training rows and a quarter as many validation rows."
    import pandas as pd
    from artifact_fastai.data import read_splits
    df = read_splits(data, seed=seed)
    parts = [df[df.split == 'train'].sample(n=min(n_train, (df.split == 'train').sum()), random_state=seed),
             df[df.split == 'val'].sample(n=min(max(n_train//4, 32), (df.split == 'val').sum()), random_state=seed)]
    sub = pd.concat(parts).reset_index(drop=True)
    sub.attrs = dict(df.attrs)
    return sub


def time_epochs(table, roi_settings, size, repeats, train):
    "Per-configuration best-of-`repeats` times: a data-only pass over dls.train, and (if `train`) one training epoch."
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.roi import FaceCrop
    dls = {'no ROI': artifact_dataloaders(table, size=size, bs=32, roi=None, seed=0, check=False),
           'cached face ROI': artifact_dataloaders(table, size=size, bs=32, roi=roi_settings, seed=0, check=False)}
    crop = next(t for t in dls['cached face ROI'].train.after_item.fs if isinstance(t, FaceCrop))
    learners = {}
    if train:
        from fastai.vision.learner import vision_learner
        import fastai.callback.channelslast  # noqa: F401  (adds Learner.to_channelslast)
        for k, d in dls.items():
            learners[k] = vision_learner(d, 'efficientnet_lite0', pretrained=False).to_channelslast()
    times = {k: {'data': [], 'train': []} for k in dls}
    for r in range(repeats + 1):  # round 0 warms caches (files, ROI memory, allocator) and is not counted
        for k in (dls if r % 2 else list(dls)[::-1]):  # alternate the order against drift in machine load
            t = time.perf_counter()
            for _ in dls[k].train: pass
            if r: times[k]['data'].append(time.perf_counter() - t)
            if train:
                learn = learners[k]
                t = time.perf_counter()
                with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
                if r: times[k]['train'].append(time.perf_counter() - t)
            print(f'  round {r}{" (warm-up)" if not r else ""}, {k}: data {times[k]["data"][-1:] or "-"} s, '
                  f'train {times[k]["train"][-1:] or "-"} s', file=sys.stderr, flush=True)
    return times, crop, len(dls['no ROI'].train.dataset)


def time_paired(table, roi_settings, size, epochs, seed=0):
    """Seconds per training step (next batch from `dls.train` + forward, loss, backward, optimizer step), with and
    without the cached ROI, interleaved batch by batch on one model so that drift in machine load hits both alike."""
    import torch
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.learner import artifact_learner
    dls = {'no ROI': artifact_dataloaders(table, size=size, bs=32, roi=None, seed=seed, check=False),
           'cached face ROI': artifact_dataloaders(table, size=size, bs=32, roi=roi_settings, seed=seed, check=False)}
    learn = artifact_learner(dls['no ROI'], 'efficientnet_lite0')
    model, loss_fn = learn.model.train(), learn.loss_func
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    def step(batches):
        t = time.perf_counter()
        x, y = next(batches)
        loss = loss_fn(model(x.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last)), y.as_subclass(torch.Tensor))
        opt.zero_grad(); loss.backward(); opt.step()
        return time.perf_counter() - t
    steps = {k: [] for k in dls}
    for epoch in range(epochs + 1):  # epoch 0 warms caches (files, ROI memory, allocator) and is not counted
        its = {k: iter(d.train) for k, d in dls.items()}
        for i in range(len(dls['no ROI'].train)):
            for k in (list(dls) if i % 2 else list(dls)[::-1]):  # alternate which side goes first
                dt = step(its[k])
                if epoch: steps[k].append(dt)
        print(f'  epoch {epoch}{" (warm-up)" if not epoch else ""}: no ROI {sum(steps["no ROI"][-len(dls["no ROI"].train):]) if epoch else "-"} s, '
              f'ROI {sum(steps["cached face ROI"][-len(dls["no ROI"].train):]) if epoch else "-"} s', file=sys.stderr, flush=True)
    a, b = np.array(steps['no ROI']), np.array(steps['cached face ROI'])
    rng = np.random.default_rng(0)
    boot = [b[i].sum() / a[i].sum() for i in (rng.integers(0, len(a), len(a)) for _ in range(2000))]
    crop = next(t for t in dls['cached face ROI'].train.after_item.fs if type(t).__name__ == 'FaceCrop')
    return a, b, np.percentile(boot, [2.5, 97.5]), crop


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', type=Path, default=DEFAULT_DATA)
    p.add_argument('--size', type=int, default=224, help='input size of the epoch comparison')
    p.add_argument('--train-images', type=int, default=320, help='training images in the epoch comparison')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--train', action='store_true', help='also time a training epoch (slow on a busy machine)')
    p.add_argument('--paired', type=int, default=0, metavar='EPOCHS',
                   help='also time EPOCHS epochs of training steps with and without ROI interleaved batch by batch')
    a = p.parse_args()
    if not (a.data/'labels.csv').is_file():
        print(f'SKIP: face sample not found at {a.data}'); return 0
    from artifact_fastai.core import seed_everything
    from artifact_fastai.data import open_image
    from artifact_fastai.roi import find_face_model, FaceModelNotFoundError
    try: find_face_model()
    except FaceModelNotFoundError as e: print(f'SKIP: {e}'); return 0
    seed_everything(0)
    files = sorted(str(f) for f in a.data.rglob('*.jpg'))
    for f in files: Path(f).read_bytes()  # page cache warm before any timing
    out = []
    def emit(*lines):
        "Print `lines` now (partial results survive a timeout) and keep them for the results file."
        out.extend(lines); print('\n'.join(lines), flush=True)
    emit(f'# Face ROI benchmark\n\ndata: {a.data} ({len(files)} images), cores: {os.cpu_count()}, '
         f'load average at start: {os.getloadavg()[0]:.1f}, date: {time.strftime("%Y-%m-%d %H:%M")}\n')
    with tempfile.TemporaryDirectory() as tmp:
        rows = detection_rows(files, Path(tmp), open_image)
        base = rows[0][3]
        emit('## Detection (precompute_boxes)\n',
             '| run | images | seconds | images/s | speed-up | faces found | multi-face | no face | failures |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
             *[f'| {n} | {i} | {s:.1f} | {ips:.0f} | {ips/base:.2f}x | {f} ({f/max(i, 1):.1%}) | {m} | {nf} | {fl} |'
               for n, i, s, ips, f, m, nf, fl in rows])
        roi = {'backend': 'mediapipe', 'cache_dir': str(Path(tmp)/'mp2')}
        costs = per_image_cost(files, open_image, roi['cache_dir'])
        emit('\n## Per-image cost on the cached path (256 px JPEGs)\n', '| step | ms/image |', '| --- | ---: |',
             *[f'| {k} | {v:.2f} |' for k, v in costs.items() if k != 'detector calls'])
        times, crop, n_train = time_epochs(subset_table(a.data, a.train_images), roi, a.size, a.repeats, a.train)
        emit(f'\n## Epoch time, {n_train} training images at {a.size} px, bs 32, num_workers 0 '
             f'(best of {a.repeats}{"; efficientnet_lite0, channels_last" if a.train else ""})\n',
             '| pass | no ROI (s) | cached face ROI (s) | ratio | target |', '| --- | ---: | ---: | ---: | --- |')
        for kind in ('data', 'train'):
            if not times['no ROI'][kind]: continue
            t0, t1 = min(times['no ROI'][kind]), min(times['cached face ROI'][kind])
            label = 'data only (iterate dls.train)' if kind == 'data' else 'training epoch (fit 1)'
            emit(f'| {label} | {t0:.2f} | {t1:.2f} | {t1/t0:.3f}x | {"<= 1.02x" if kind == "train" else "-"} |')
        emit(f'\nDetector calls during the ROI epochs: {crop.detector.n_calls} (all boxes came from the cache). {crop.summary()}')
        if a.paired:
            a_s, b_s, ci, pcrop = time_paired(subset_table(a.data, a.train_images), roi, a.size, a.paired)
            emit(f'\n## Training steps interleaved batch by batch, {a.paired} epochs x {len(a_s) // a.paired} batches at {a.size} px '
                 '(efficientnet_lite0, channels_last; each step = next batch from dls.train + forward, loss, backward, Adam step)\n',
                 '| measure | no ROI | cached face ROI | ratio | 95% CI (bootstrap over steps) | target |', '| --- | ---: | ---: | ---: | --- | --- |',
                 f'| seconds per epoch (mean) | {a_s.sum() / a.paired:.2f} | {b_s.sum() / a.paired:.2f} | {b_s.sum() / a_s.sum():.3f}x | '
                 f'{ci[0]:.3f}-{ci[1]:.3f}x | <= 1.02x |',
                 f'| median step (s) | {np.median(a_s):.3f} | {np.median(b_s):.3f} | {np.median(b_s) / np.median(a_s):.3f}x | | |',
                 f'\nDetector calls during these ROI epochs: {pcrop.detector.n_calls}.')
    (HERE/'results').mkdir(exist_ok=True)
    (HERE/'results'/'roi.md').write_text('\n'.join(out) + '\n')
    return 0


if __name__ == '__main__': sys.exit(main())

"""Learner and Detector overhead benchmark (issue 9), measured side by side in one run.

    .venv/bin/python bench/bench_learner.py [--arch efficientnet_lite0] [--size 96] [--bs 32] [--n-train 192]
                                            [--reps 3] [--n-predict 256] [--data PATH] [--threads N]

1. Training throughput (images/s) of `artifact_learner` (fastai: `fit`, its Adam, callbacks, the fastai data
   pipeline with oversampling and flips) against a plain timm + torch loop (torch DataLoader over the same files,
   PIL resize, `torch.optim.Adam`, same loss) on the same model (a copy of the learner's network, same
   channels_last), same images, image size and batch size. The two are run alternately, `--reps` epochs each,
   after one warm-up epoch each, so that load from other users of the machine hits both alike; then, because whole
   epochs vary by 5-10% on this machine, interleaved batch by batch (one plain step after each fastai batch, inside
   fastai's own `fit`), with a bootstrap confidence interval over batches. Target >= 0.95x.
2. `Detector.predict` (files in, DataFrame out) against a raw batched loop doing the same work by hand (open with
   PIL, resize, stack, normalise, forward, softmax), alternating, on the same files. Target >= 0.9x. The forward
   pass alone on preloaded tensors is printed for reference.
4. channels_last per family (`--channels-last`): train-step and forward throughput of random-init timm models with and
   without `channels_last`, alternating, on random batches; the basis of `learner.CHANNELS_LAST_CPU`.
3. Memory: peak resident-set growth while `Detector.predict` scores N and 4N images (the same files repeated),
   sampled every 5 ms in a thread. Target: the growth does not scale with N (it streams batches).

Data: the images of ../shared/data/faces140k-sample when present (256 px JPEG), else a synthetic set.
Writes bench/results/learner.md and prints it.
"""
import argparse, copy, gc, os, statistics, sys, tempfile, threading, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1]/'shared'/'data'/'faces140k-sample'


def rss_mb() -> float:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


class PeakRSS:
    "Context manager sampling this process's RSS every `every` s; `.growth` = peak minus the value at entry (MB)."
    def __init__(self, every=0.005): self.every = every
    def __enter__(self):
        self.start = self.peak = rss_mb(); self.stop = False
        def watch():
            while not self.stop: self.peak = max(self.peak, rss_mb()); time.sleep(self.every)
        self.thread = threading.Thread(target=watch, daemon=True); self.thread.start()
        return self
    def __exit__(self, *exc):
        self.stop = True; self.thread.join(); self.growth = self.peak - self.start


def dataset(args, tmp: Path):
    "A data root and its split table: the shared faces sample, or a synthetic set."
    from artifact_fastai.data import read_splits
    root = Path(args.data) if args.data else DEFAULT_DATA
    if not (root/'labels.csv').is_file() and not (root/'train.csv').is_file():
        from artifact_fastai.synth import make_synthetic_dataset
        root = make_synthetic_dataset(tmp/'synth', n=int(args.n_train / 0.7) + 40, artifact_frac=0.5, size=128, seed=0, style='traces')
    df = read_splits(root, seed=0)
    train = df[df.split == 'train'].head(args.n_train)
    val = df[df.split == 'val'].head(args.bs)
    df = df[df.index.isin(train.index) | df.index.isin(val.index)].copy()
    df.attrs['root'] = Path(root).resolve()
    return df


def train_timer():
    "A fastai callback recording (seconds, samples) of the training phase only (not validation) of each epoch."
    from fastai.callback.core import Callback
    class TrainTimer(Callback):
        order = 100
        def before_train(self): self.n, self.t0 = 0, time.perf_counter()
        def after_batch(self):
            if self.training: self.n += len(self.yb[0])
        def after_train(self): self.last = (time.perf_counter() - self.t0, self.n)
    return TrainTimer()


def interleaved_timer(model, loader, opt, loss_fn, channels_last):
    """A fastai callback that runs one plain-loop step (next batch of `loader`, forward, loss, backward, Adam step on
    `model`) after every fastai training batch, and records the seconds of each side batch by batch: fastai's from the
    end of the previous plain step to `after_batch` (its data fetch, callbacks and step), the plain step's in full.
    Interleaving batch by batch puts both under the same machine load."""
    import torch
    from fastai.callback.core import Callback
    def plain_batches():
        while True: yield from loader
    class Interleaved(Callback):
        order = 100
        def before_fit(self): self.fastai, self.plain, self.batches = [], [], plain_batches()
        def before_train(self): self.t0 = time.perf_counter()
        def after_batch(self):
            if not self.training: return
            t1 = time.perf_counter(); self.fastai.append(t1 - self.t0)
            model.train(); x, y = next(self.batches)
            if channels_last: x = x.contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
            self.t0 = time.perf_counter(); self.plain.append(self.t0 - t1)
    return Interleaved()


def plain_loader(df, size, bs, mean, std):
    "A plain torch DataLoader: PIL open + resize (bilinear, squish) + random flip + tensor + normalise."
    import numpy as np, torch
    from PIL import Image
    root = Path(df.attrs['root'])
    rows = df[df.split == 'train']
    paths, labels = [str(root/p) for p in rows.path], rows.label.astype(int).tolist()
    m, s = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)
    class DS(torch.utils.data.Dataset):
        def __len__(self): return len(paths)
        def __getitem__(self, i):
            img = Image.open(paths[i]).convert('RGB').resize((size, size), Image.BILINEAR)
            if np.random.rand() < 0.5: img = img.transpose(Image.FLIP_LEFT_RIGHT)
            x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float().div_(255)
            return (x - m) / s, labels[i]
    return torch.utils.data.DataLoader(DS(), batch_size=bs, shuffle=True, drop_last=True, num_workers=0)


def plain_epoch(model, loader, opt, loss_fn, channels_last) -> tuple:
    "One epoch of a plain training loop; (seconds, samples)."
    import torch
    model.train(); n, t0 = 0, time.perf_counter()
    for x, y in loader:
        if channels_last: x = x.contiguous(memory_format=torch.channels_last)
        loss = loss_fn(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); n += len(y)
    return time.perf_counter() - t0, n


def bench_training(args, df, out):
    import torch
    from fastai.torch_core import set_seed
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.learner import artifact_learner
    from artifact_fastai.losses import FocalLoss
    set_seed(0)
    dls = artifact_dataloaders(df, size=args.size, bs=args.bs, check=False)
    learn = artifact_learner(dls, args.arch)
    learn.unfreeze()
    timer = train_timer(); learn.add_cb(timer)
    model = copy.deepcopy(learn.model)
    cl = learn.detector_spec['extra']['channels_last']
    norm = [t for t in dls.after_batch.fs if type(t).__name__ == 'Normalize'][0]
    loader = plain_loader(df, args.size, args.bs, norm.mean.flatten().tolist(), norm.std.flatten().tolist())
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    loss_fn = FocalLoss(gamma=2.0)
    fastai_runs, plain_runs = [], []
    with learn.no_bar(), learn.no_logging():
        for rep in range(args.reps + 1):  # rep 0 is the warm-up
            learn.fit(1, 1e-4); f = timer.last
            p = plain_epoch(model, loader, opt, loss_fn, cl)
            if rep: fastai_runs.append(f[1] / f[0]); plain_runs.append(p[1] / p[0])
            print(f'  rep {rep}: fastai {f[1] / f[0]:.1f} img/s, plain {p[1] / p[0]:.1f} img/s', flush=True)
    ratios = [a / b for a, b in zip(fastai_runs, plain_runs)]
    out.append(('training, alternating epochs', f'{statistics.median(fastai_runs):.1f}', f'{statistics.median(plain_runs):.1f}',
                f'{statistics.median(ratios):.2f}x', '>= 0.95x', f'median of {args.reps} alternating epochs, channels_last={cl}'))
    # batch-by-batch interleaving: one plain step after every fastai batch
    learn.remove_cb(timer)
    inter = interleaved_timer(model, loader, opt, loss_fn, cl); learn.add_cb(inter)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-4)  # warm-up
        f, p = [], []
        for rep in range(args.reps): learn.fit(1, 1e-4); f += inter.fastai; p += inter.plain
    learn.remove_cb(inter)
    import numpy as np
    f, p = np.array(f), np.array(p)
    rng = np.random.default_rng(0)
    boot = np.percentile([p[i].sum() / f[i].sum() for i in (rng.integers(0, len(f), len(f)) for _ in range(2000))], [2.5, 97.5])
    n = len(f) * args.bs
    out.append(('training, interleaved batch by batch', f'{n / f.sum():.1f}', f'{n / p.sum():.1f}', f'{p.sum() / f.sum():.2f}x',
                '>= 0.95x', f'{len(f)} batches each ({args.reps} epochs); 95% CI {boot[0]:.2f}-{boot[1]:.2f}x (bootstrap over batches)'))
    print(out[-1], flush=True)
    return learn


def raw_predict(model, paths, size, bs, mean, std, channels_last):
    "The minimal batched loop: PIL open, resize, stack, normalise, forward, softmax."
    import numpy as np, torch
    from PIL import Image
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    out = []
    with torch.inference_mode():
        for i in range(0, len(paths), bs):
            x = torch.stack([torch.from_numpy(np.asarray(Image.open(p).convert('RGB').resize((size, size), Image.BILINEAR)).copy()).permute(2, 0, 1)
                             for p in paths[i:i + bs]]).float().div_(255)
            x = (x - m) / s
            if channels_last: x = x.contiguous(memory_format=torch.channels_last)
            out.append(torch.softmax(model(x), -1)[:, 0])
    return torch.cat(out).numpy()


def bench_predict(args, df, learn, tmp, out):
    import numpy as np, torch
    from artifact_fastai.learner import save_detector
    from artifact_fastai.kinds import load_detector
    det = load_detector(save_detector(learn, tmp/'model'))
    root = Path(df.attrs['root'])
    base = [str(root/p) for p in df.path]
    paths = (base * (args.n_predict // len(base) + 1))[:args.n_predict]
    cfg = det.config
    det.predict(paths[:args.bs], bs=args.bs, progress=False); raw_predict(det.model, paths[:args.bs], cfg.img_size, args.bs, cfg.mean, cfg.std, cfg.extra['channels_last'])
    t_det, t_raw = [], []
    for rep in range(args.reps):
        t0 = time.perf_counter(); res = det.predict(paths, bs=args.bs, progress=False); t_det.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); raw = raw_predict(det.model, paths, cfg.img_size, args.bs, cfg.mean, cfg.std, cfg.extra['channels_last']); t_raw.append(time.perf_counter() - t0)
    diff = float(np.abs(res.prob_artifact.to_numpy() - raw).max())
    ratios = [b / a for a, b in zip(t_det, t_raw)]  # throughput ratio = raw time / predict time
    n = len(paths)
    out.append(('predict (files -> DataFrame)', f'{n / statistics.median(t_det):.1f}', f'{n / statistics.median(t_raw):.1f}',
                f'{statistics.median(ratios):.2f}x', '>= 0.9x', f'{args.reps} alternating runs of {n} images, max |p diff| {diff:.1e}'))
    # forward alone, for reference
    from PIL import Image
    x = torch.stack([det.transform(Image.open(p).convert('RGB')) for p in paths[:args.bs]])
    x = det.normalize(x)
    with torch.inference_mode():
        det.model(x); t0 = time.perf_counter()
        for _ in range(3): det.model(x)
    fwd = 3 * args.bs / (time.perf_counter() - t0)
    out.append(('forward only (preloaded batch)', f'{fwd:.1f}', '', '', '', 'upper bound: no decoding, no resizing'))
    # memory
    growth = {}
    for k in (1, 4):
        items = (base * (k * args.n_predict // len(base) + 1))[:k * args.n_predict]
        gc.collect()
        with PeakRSS() as peak: det.predict(items, bs=args.bs, progress=False)
        growth[len(items)] = peak.growth
    (n1, g1), (n4, g4) = growth.items()
    out.append(('predict peak RSS growth', f'{g1:.1f} MB @ {n1}', f'{g4:.1f} MB @ {n4}', '', 'flat in N',
                'RSS sampled every 5 ms; growth over the value before the call'))


def bench_channels_last(args, out):
    "Train-step and forward images/s of each family with and without channels_last (alternating steps)."
    import timm, torch
    for arch in args.cl_archs:
        x, y = torch.randn(args.bs, 3, args.size, args.size), torch.randint(0, 2, (args.bs,))
        runs = {}
        for cl in (False, True):
            m = timm.create_model(arch, num_classes=2)
            if cl: m = m.to(memory_format=torch.channels_last)
            runs[cl] = (m, x.contiguous(memory_format=torch.channels_last) if cl else x, torch.optim.Adam(m.parameters()))
        tt, tf = {False: [], True: []}, {False: [], True: []}
        for rep in range(args.reps + 1):
            for cl, (m, xx, opt) in runs.items():
                m.train(); t0 = time.perf_counter()
                loss = torch.nn.functional.cross_entropy(m(xx), y); opt.zero_grad(); loss.backward(); opt.step()
                t1 = time.perf_counter(); m.eval()
                with torch.inference_mode(): m(xx)
                t2 = time.perf_counter()
                if rep: tt[cl].append(args.bs / (t1 - t0)); tf[cl].append(args.bs / (t2 - t1))
        med = statistics.median
        out.append((f'{arch} train step, channels_last vs plain', f'{med(tt[True]):.1f}', f'{med(tt[False]):.1f}',
                    f'{med(a / b for a, b in zip(tt[True], tt[False])):.2f}x', '> 1 to enable', f'forward {med(tf[True]):.1f} vs {med(tf[False]):.1f} img/s'))
        print(out[-1], flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', default='efficientnet_lite0')
    ap.add_argument('--size', type=int, default=96)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--n-train', type=int, default=192)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--n-predict', type=int, default=256)
    ap.add_argument('--data', default=None)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: torch default)')
    ap.add_argument('--channels-last', action='store_true', help='only the channels_last comparison per family')
    ap.add_argument('--cl-archs', nargs='+', default=['efficientnet_lite0', 'efficientnet_b0', 'resnet18', 'resnet50',
                                                       'convnext_atto', 'convnext_tiny'])
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    import torch
    if args.threads: torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    out = []
    if args.channels_last:
        bench_channels_last(args, out)
        return report(args, out, load, 'learner_channels_last.md')
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        df = dataset(args, tmp)
        print(f'data {df.attrs["root"]}: {int((df.split == "train").sum())} training images; {args.arch} at {args.size} px, '
              f'bs {args.bs}, torch threads {torch.get_num_threads()}, load average {load:.1f}', flush=True)
        learn = bench_training(args, df, out)
        bench_predict(args, df, learn, tmp, out)
    report(args, out, load, 'learner.md')


def report(args, out, load, name):
    import torch
    lines = [f'# bench_learner: {args.arch}, {args.size} px, bs {args.bs}, torch threads {torch.get_num_threads()}, '
             f'load average at start {load:.1f}', '',
             '| measure | artifact_fastai | plain / second | ratio | target | notes |', '|---|---|---|---|---|---|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in out]
    text = '\n'.join(lines) + '\n'
    (HERE/'results').mkdir(exist_ok=True)
    (HERE/'results'/name).write_text(text)
    print(text)


if __name__ == '__main__':
    main()

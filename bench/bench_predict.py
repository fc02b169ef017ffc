"""Predict memory benchmark: peak memory of `artifact-fastai predict` (cli.predict_to_csv) must stay flat as the
number of images grows, because it streams a source in batches and appends each batch to the CSV.

    .venv/bin/python bench/bench_predict.py [--sizes 1000 10000] [--img 16] [--bs 64] [--no-reference]

Each run is a fresh child process (so peak RSS is its own) predicting N tiny PNGs listed in a CSV with an untrained
resnet18 at 32 px: memory, not accuracy, is measured. For reference the same N go through the learner's
in-memory `Detector.predict` (which lists every item and builds one DataFrame). Target (issue 6): the peak RSS
growth from 1,000 to 10,000 images is small against the process (a few MB at most). Writes bench/results/predict.md.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent


def rss_mb() -> float:
    "Current resident set size of this process in MB (Linux /proc)."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def peak_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_model(dest: Path) -> Path:
    "An untrained resnet18 detector at 32 px saved with `save_detector` (weights do not matter for memory)."
    import warnings
    from artifact_fastai.synth import make_synthetic_dataset
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.learner import artifact_learner, save_detector
    root = make_synthetic_dataset(dest/'data', n=40, artifact_frac=0.3, size=32, seed=0, style='traces')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = artifact_learner(artifact_dataloaders(root, size=32, bs=8), 'resnet18', pretrained=False)
    return save_detector(learn, dest/'model')


def make_images(folder: Path, n: int, side: int) -> None:
    "`n` small PNGs (copies of 50 distinct random images) under `folder`."
    import numpy as np
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    blobs = []
    for i in range(50):
        p = folder/f'src_{i}.png'; Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(p)
        blobs.append(p.read_bytes())
    for i in range(n): (folder/f'img_{i:06d}.png').write_bytes(blobs[i % 50])


def child(mode: str, model: str, csv: str, out: str, bs: int) -> dict:
    "Run one prediction job in this process and report time and memory."
    from artifact_fastai.kinds import load_detector
    det = load_detector(model)
    base = rss_mb()
    t = time.perf_counter()
    if mode == 'predict_to_csv':
        from artifact_fastai.predict import predict_to_csv
        s = predict_to_csv(det, csv, out, bs=bs, force=True, quiet=True)
        n = s['new']
    else:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            df = det.predict(csv, bs=bs, progress=False)
        df.to_csv(out, index=False); n = len(df)
    return dict(mode=mode, n=n, seconds=time.perf_counter() - t, base_mb=base, peak_mb=peak_mb())


def run_child(mode, model, csv, out, bs) -> dict:
    p = subprocess.run([sys.executable, __file__, '--child', mode, model, csv, out, str(bs)], capture_output=True, text=True)
    if p.returncode: raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000])
    ap.add_argument('--img', type=int, default=16, help='side of the test images in pixels')
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--no-reference', action='store_true', help="skip the in-memory Detector.predict reference")
    ap.add_argument('--child', nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, model, csv, out, bs = a.child
        print(json.dumps(child(mode, model, csv, out, int(bs)))); return
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        model = make_model(d)
        make_images(d/'images', max(a.sizes), a.img)
        rows = []
        for n in a.sizes:
            csv = d/f'images_{n}.csv'
            csv.write_text('image\n' + ''.join(f'images/img_{i:06d}.png\n' for i in range(n)))
            for mode in ('predict_to_csv',) + (() if a.no_reference else ('Detector.predict',)):
                r = run_child(mode, str(model), str(csv), str(d/f'out_{mode}_{n}.csv'), a.bs)
                rows.append(r); print(r, flush=True)
    lines = ['| job | images | seconds | images/s | RSS after load (MB) | peak RSS (MB) | peak - load (MB) |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    lines += [f"| {r['mode']} | {r['n']:,} | {r['seconds']:.1f} | {r['n']/r['seconds']:.0f} | {r['base_mb']:.0f} | "
              f"{r['peak_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.1f} |" for r in rows]
    growth = {}
    for mode in {r['mode'] for r in rows}:
        rs = sorted((r for r in rows if r['mode'] == mode), key=lambda r: r['n'])
        if len(rs) > 1: growth[mode] = rs[-1]['peak_mb'] - rs[0]['peak_mb']
    summary = '; '.join(f"{m}: peak RSS {g:+.1f} MB from {min(a.sizes):,} to {max(a.sizes):,} images" for m, g in sorted(growth.items()))
    text = (f"# predict memory (untrained resnet18 at 32 px, {a.img} px PNGs, batch {a.bs}, one fresh process per row)\n\n"
            + '\n'.join(lines) + f"\n\n{summary}\n")
    print('\n' + text)
    (HERE/'results').mkdir(exist_ok=True); (HERE/'results'/'predict.md').write_text(text)


if __name__ == '__main__':
    main()

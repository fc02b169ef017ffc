"""How well the demo's member families learn the portrait synthetic set, and how long they take (issue 19).

    .venv/bin/python bench/bench_synth.py [--n 600] [--frac 0.2] [--img-size 192] [--size 160] [--epochs 4]
                                          [--members lite0,resnet18,convnext_atto,probe,anomaly] [--strength LO,HI]
                                          [--bs 32] [--lr 2e-3] [--ae-epochs 4]

Writes `make_synthetic_dataset(n, artifact_frac=frac, size=img_size, seed=0)` to a temporary folder, then trains each
member as the demo does: EfficientNet-Lite0 from its offline ImageNet weights with `fine_tune` (1 frozen epoch, then
`epochs - 1`, base learning rate `lr`), ResNet18 and ConvNeXt-atto from random init with `fit_one_cycle(epochs)` (no offline weights exist),
the frozen-feature probe recipe at the native image size, and the anomaly autoencoder (Clean images only). Prints one
line per member: seconds of training, val and test ROC AUC (Artifact as the positive class), and the AUC per kind on
test (each kind's Artifacts against all test Cleans).

    .venv/bin/python bench/bench_synth.py --pointing MODEL_DIR --data DEMO_ROOT [--cam-seed 1] [--cam-n 400]

Pointing game of a saved detector (the demo's `models/demo/feature_probe`) on a separate synthetic set drawn with seed
`cam-seed` (the demo's settings otherwise: the demo set's image size, 30% Artifact, strength 0.6-1.0), so that CAM settings are chosen on
neither the demo's val nor its test split: every Artifact image of that set, peak inside the known box (strict and
within 8 / 15 px), with no reference, with the mean map of up to 32 val Clean images of DEMO_ROOT subtracted, and
with their mean and sd (`interpret.reference_score`, the default the demo uses), per defect kind.
"""
import argparse, json, os, sys, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
warnings.filterwarnings('ignore')
import numpy as np
from sklearn.metrics import roc_auc_score

from artifact_fastai.core import ARTIFACT, seed_everything
from artifact_fastai.data import artifact_dataloaders, read_splits, split_dataloader
from artifact_fastai.synth import make_synthetic_dataset, artifact_regions


def scores(model_proba, dls, split):
    "(labels, P(Artifact)) of `split` in table order."
    dl = split_dataloader(dls, split)
    return dl.split_df['label'].to_numpy(dtype=int), model_proba(dl)


def learner_proba(learn):
    def proba(dl):
        with learn.no_bar(): p, _ = learn.get_preds(dl=dl)
        return p[:, ARTIFACT].numpy()
    return proba


def train_cnn(dls, arch, epochs, lr):
    from artifact_fastai.learner import artifact_learner
    pretrained = arch.startswith('efficientnet_lite')
    learn = artifact_learner(dls, arch, pretrained=pretrained)
    with learn.no_bar(), learn.no_logging():
        if pretrained: learn.fine_tune(max(epochs - 1, 1), base_lr=lr, freeze_epochs=1)
        else: learn.fit_one_cycle(epochs, 3e-3)
    return learner_proba(learn)


def train_anomaly(root, size, epochs):
    from artifact_fastai.anomaly import anomaly_learner
    dls = artifact_dataloaders(root, size=size, bs=32, oversample=False, augment=False, seed=0, check=False)
    learn = anomaly_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 3e-3)
    return learner_proba(learn), dls


def per_kind(y, p, table, regions):
    out = {}
    kinds = table.path.map(regions['kind']).fillna('clean').to_numpy()
    for k in sorted(set(kinds) - {'clean'}):
        sel = (kinds == k) | (y != ARTIFACT)
        out[k] = roc_auc_score(y[sel] == ARTIFACT, p[sel]) if (kinds == k).any() else float('nan')
    return out


def pointing_bench(model_dir, demo_root, seed=1, n=400):
    "Print the pointing game of the detector in `model_dir` on a synthetic set drawn with `seed`, without and with the reference."
    import pandas as pd
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.interpret import GradCAMInterpretation, pointing_game
    from artifact_fastai.experiment import demo_data
    det, demo_root = load_detector(model_dir), Path(demo_root)
    settings = demo_root/'demo_settings.json'  # the seed set is drawn at the demo set's image size
    size = json.loads(settings.read_text())['size'] if settings.is_file() else 160
    root = demo_data(Path(tempfile.mkdtemp())/'cam_set', n=n, size=size, seed=seed)
    val = pd.read_csv(demo_root/'val.csv'); clean = [str(demo_root/p) for p in val[val.label == 1].image.head(32)]
    reg = artifact_regions(root); reg = reg[~reg.index.duplicated()]
    rows = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')])
    rows = rows[(rows.label == ARTIFACT) & rows.image.isin(reg.index)]
    files = [str(root/p) for p in rows.image]; boxes = reg.loc[rows.image].set_axis(files); kinds = boxes.kind.values
    for name, kw in (('no reference', {}), ('val-Clean reference, mean only', dict(reference=clean, reference_floor=None)),
                     ('val-Clean reference, mean and sd (default)', dict(reference=clean))):
        t = time.perf_counter(); interp = GradCAMInterpretation.from_detector(det, files, **kw); interp.heatmaps()
        for tol in (0, 8, 15):
            pg = pointing_game(interp, boxes, tolerance=tol); h = pg.hit.to_numpy()
            print(f"{name}, tolerance {tol} px: hit {h.mean():.3f} (chance {pg.chance.mean():.3f}, n={len(pg)}, "
                  f"{time.perf_counter() - t:.0f} s); " + ', '.join(f'{k} {h[kinds == k].mean():.2f}' for k in sorted(set(kinds))), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pointing', default=None); ap.add_argument('--data', default=None)
    ap.add_argument('--cam-seed', type=int, default=1); ap.add_argument('--cam-n', type=int, default=400)
    ap.add_argument('--n', type=int, default=600); ap.add_argument('--frac', type=float, default=0.2)
    ap.add_argument('--img-size', type=int, default=192); ap.add_argument('--size', type=int, default=160)
    ap.add_argument('--epochs', type=int, default=4); ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--members', default='lite0'); ap.add_argument('--strength', default=None)
    ap.add_argument('--ae-epochs', type=int, default=4); ap.add_argument('--lr', type=float, default=2e-3)
    a = ap.parse_args()
    if a.pointing: return pointing_bench(a.pointing, a.data, a.cam_seed, a.cam_n)
    strength = tuple(float(v) for v in a.strength.split(',')) if a.strength else None
    t = time.perf_counter()
    root = make_synthetic_dataset(Path(tempfile.mkdtemp())/'synth', n=a.n, artifact_frac=a.frac, size=a.img_size,
                                  seed=0, strength=strength)
    print(f"data: n={a.n} frac={a.frac} img_size={a.img_size} strength={strength}: {time.perf_counter() - t:.1f} s", flush=True)
    regions = artifact_regions(root)
    for m in a.members.split(','):
        seed_everything(0); t = time.perf_counter()
        if m == 'probe':   # the demo's probe: frozen Lite0+1+2 at native size, a linear head per backbone
            from artifact_fastai.probe import train_probe, head_proba
            model, _, _, feats, dls = train_probe(root, size=a.img_size, resize='native', epochs=30, lr=1e-3, wd=0.5,
                                                  check=False, progress=False)
            head = dict(mean=model.feature_mean, std=model.feature_std, weight=model.head.weight.detach(), bias=model.head.bias.detach())
            probs = {s: head_proba(head, feats[s][0]) for s in ('val', 'test')}
            proba = lambda dl: probs[dl.split_df.split.iloc[0]]
        elif m == 'anomaly':
            proba, dls = train_anomaly(root, a.size, a.ae_epochs)
        else:
            arch = {'lite0': 'efficientnet_lite0'}.get(m, m)
            dls = artifact_dataloaders(root, size=a.size, bs=a.bs, seed=0, check=False)
            proba = train_cnn(dls, arch, a.epochs, a.lr)
        train_s = time.perf_counter() - t
        (yv, pv), (yt, pt) = scores(proba, dls, 'val'), scores(proba, dls, 'test')
        test_table = split_dataloader(dls, 'test').split_df
        kinds = per_kind(yt, pt, test_table, regions)
        print(f"{m}: train {train_s:.0f} s, val AUC {roc_auc_score(yv == ARTIFACT, pv):.3f}, test AUC "
              f"{roc_auc_score(yt == ARTIFACT, pt):.3f} (n_test_artifact={(yt == ARTIFACT).sum()}); per kind "
              + ', '.join(f'{k} {v:.2f}' for k, v in kinds.items()), flush=True)


if __name__ == '__main__':
    main()

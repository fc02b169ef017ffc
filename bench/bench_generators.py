"""Variants that might carry a StyleGAN-trained detector to Stable Diffusion (issue 18, item 4), side by side, one command:

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_generators.py [--e2e]

Same split as bench/bench_scale.py (`read_splits(faces140k-sample, seed=0)`: 700 train / 150 val / 150 test, FFHQ
photographs = Clean 1 vs StyleGAN v1 = Artifact 0, 256 px) and the same cross-generator set (the 505 Stable Diffusion
2.1 portraits of portrait-qa-dev, all label 0, brought to 256 px, against the 75 real test photographs, label 1).
Every head / model is fitted on the training rows only; thresholds are chosen on val (Youden, as the probe recipe);
nothing is chosen on the SD portraits. Columns: same-generator test AUC, cross-generator AUC, the share of SD
portraits flagged (and of real test photographs flagged) at the val threshold, and test AUC after 0.5x rescaling
(`robustness.rescale(0.5, 'jpeg')`, then brought back to 256 px as `Detector` does).

Bank copies ('train_rescaled': each training photograph shrunk ~U[0.5, 0.9] and brought back; 'train_aug': blur/JPEG)
add augmented photographs to the photographs-only novelty bank.
Features come from bench/gen_features.py (cached under bench/results/generators/; the first run extracts them:
about 0.4 s per image and feature set on one thread here). The anomaly autoencoder is trained here (photos only).
With --e2e it also trains the `probe_novelty` recipe into bench/results/faces_probe_novelty and scores the sets through
`load_detector` (about 20 CPU minutes). Writes bench/results/generators.md.
"""
from __future__ import annotations
import os, sys, time, warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_features as gf  # noqa: E402


def youden(y, p):
    from artifact_fastai.metrics import choose_threshold
    return float(choose_threshold(y, p, method='youden'))


def auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(np.asarray(y) == 0, p))  # P(Artifact) ranks Artifact (0) first


class Data:
    "Labels, splits and cached features of every set."
    def __init__(self):
        t = gf.faces_table()
        self.y, self.split = t.label.to_numpy(int), t.split.to_numpy()
        self.mask = {s: self.split == s for s in ('train', 'val', 'test')}
        self.y_test = self.y[self.mask['test']]
        self.real_test = self.y_test == 1

    def get(self, feature, set_name, cols=None):
        X = gf.features(feature, set_name)
        return X if cols is None else X[:, cols]

    def rows(self, feature, cols=None, aug: str = 'none'):
        "(train X, train y, val X, val y): aug 'none', 'add' (originals + augmented copies) or 'only' (augmented copies)."
        X = self.get(feature, 'faces', cols)
        Xtr, ytr = X[self.mask['train']], self.y[self.mask['train']]
        if aug != 'none':
            Xa = self.get(feature, 'train_aug', cols)
            Xtr, ytr = (np.r_[Xtr, Xa], np.r_[ytr, ytr]) if aug == 'add' else (Xa, ytr)
        return Xtr, ytr, X[self.mask['val']], self.y[self.mask['val']]


SD_SETS = ('sd', 'sd_q75', 'sd_crop')

def scores_of(d: Data, feature, predict, cols=None) -> dict:
    "P(Artifact) of val, test, the SD sets and the 0.5x test rows by `predict(X)`."
    X = d.get(feature, 'faces', cols)
    return dict(val=predict(X[d.mask['val']]), test=predict(X[d.mask['test']]), half=predict(d.get(feature, 'half', cols)),
                **{s: predict(d.get(feature, s, cols)) for s in SD_SETS})


def row(name: str, d: Data, s: dict, note: str = '') -> dict:
    "One table row from the scores `s` of a variant."
    t = youden(d.y[d.mask['val']], s['val'])
    real = s['test'][d.real_test]
    sd_auc = lambda p: float('nan') if np.isnan(p).any() else auc(np.r_[np.zeros(len(p), int), np.ones(len(real), int)], np.r_[p, real])
    return dict(variant=name, val_auc=auc(d.y[d.mask['val']], s['val']), test_auc=auc(d.y_test, s['test']),
                sd_auc=sd_auc(s['sd']), sd_flagged=float((s['sd'] >= t).mean()), real_flagged=float((real >= t).mean()),
                sd_q75_auc=sd_auc(s['sd_q75']), sd_crop_auc=sd_auc(s['sd_crop']), half_test_auc=auc(d.y_test, s['half']),
                half_real_flagged=float((s['half'][d.real_test] >= t).mean()), note=note)


def probe_head(d: Data, feature='probe', blocks=None, aug='none', cols=None):
    "The probe recipe's head (`fit_fused_head`, one head per backbone block): its predict function."
    from artifact_fastai.probe import fit_fused_head, head_proba
    head = fit_fused_head(*d.rows(feature, cols, aug), blocks, epochs=30, lr=1e-3, wd=0.5, seed=0)
    return lambda X: head_proba(head, X)


def probe_blocks():
    "Column slices of Lite0, Lite1, Lite2 in the probe features."
    from artifact_fastai.probe import feature_probe, feature_blocks
    return feature_blocks(feature_probe(pretrained=False))


def logistic(d: Data, feature, aug='none', C=1.0):
    "Standardised logistic regression on `feature`: its predict function (P(Artifact))."
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    Xtr, ytr, _, _ = d.rows(feature, None, aug)
    m = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000, class_weight='balanced')).fit(Xtr, ytr == 0)
    return lambda X: m.predict_proba(X)[:, 1]


def one_class_gaussian(d: Data, feature='probe', n_components: int = 32, cols=None):
    "Photos-only model: squared Mahalanobis distance in the top-`n_components` PCA space of the training photographs' features."
    Xtr = d.get(feature, 'faces', cols)[d.mask['train'] & (d.y == 1)]
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    Z = (Xtr - mu) / sd
    _, S, Vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    V, var = Vt[:n_components], (S[:n_components] ** 2) / len(Z)
    def dist(X):
        P = ((X - mu) / sd) @ V.T
        return (P ** 2 / var).sum(1)
    ref = np.sort(dist(d.get(feature, 'faces', cols)[d.mask['val'] & (d.y == 1)]))  # rank against val photographs
    return lambda X: (np.searchsorted(ref, dist(X), 'left') + np.searchsorted(ref, dist(X), 'right')) / (2 * len(ref))


def one_class_knn(d: Data, feature='npr', k: int = 5, cols=None):
    "Photos-only model: mean squared distance to the `k` nearest training photographs in standardised `feature` space."
    Xtr = d.get(feature, 'faces', cols)[d.mask['train'] & (d.y == 1)]
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    Z = (Xtr - mu) / sd
    def dist(X):
        Q = (X - mu) / sd
        return np.sort((Q ** 2).sum(1)[:, None] + (Z ** 2).sum(1)[None] - 2 * Q @ Z.T, 1)[:, :k].mean(1)
    return dist


def photo_rank(d: Data, s: dict) -> dict:
    "Scores `s` as mid-ranks among the val photographs' scores (the share of val photographs scoring lower)."
    ref = np.sort(s['val'][d.y[d.mask['val']] == 1])
    return {k: (np.searchsorted(ref, v, 'left') + np.searchsorted(ref, v, 'right')) / (2 * len(ref)) for k, v in s.items()}


def either(d: Data, a: dict, b: dict) -> dict:
    "Union rule: the larger of the two variants' photo ranks (an image is as suspicious as its worse score)."
    ra, rb = photo_rank(d, a), photo_rank(d, b)
    return {k: np.maximum(ra[k], rb[k]) for k in ra}


def product_either(d: Data, k: int = 20, power: float = 2.0, aug: str = 'none', bank_sets=()) -> dict:
    "The `probe_novelty` recipe's scores through the product code (`novelty.KnnNovelty`, `EitherProbe.union_score`) on cached features."
    import torch
    from artifact_fastai.novelty import KnnNovelty, EitherProbe
    probe = scores_of(d, 'probe', probe_head(d, blocks=probe_blocks(), aug=aug))
    photos_train = d.y[d.mask['train']] == 1  # the augmented sets hold one copy of every training row
    bank = [d.get('npr', 'faces')[d.mask['train'] & (d.y == 1)]] + [d.get('npr', s)[photos_train] for s in bank_sets]
    novelty = KnnNovelty.from_features(np.concatenate(bank), k)
    with torch.no_grad(): dist = scores_of(d, 'npr', lambda X: novelty(torch.from_numpy(X)).numpy())
    photos = d.y[d.mask['val']] == 1
    e = EitherProbe(torch.nn.Identity(), torch.nn.Identity(), novelty, probe['val'][photos], dist['val'][photos], power)
    return {s: e.union_score(probe[s], dist[s]).numpy().astype(float) for s in probe}


def anomaly_scores(d: Data, epochs: int = 4) -> dict:
    "The anomaly autoencoder (periodic score) trained on the training photographs only; cached scores."
    f = gf.CACHE/f'anomaly_e{epochs}.npz'
    if f.is_file() and set(np.load(f).files) >= {'val', 'test', 'half', *SD_SETS}: return dict(np.load(f))
    import torch
    from artifact_fastai.data import artifact_dataloaders
    from artifact_fastai.anomaly import anomaly_learner, score_batch
    t0 = time.perf_counter()
    dls = artifact_dataloaders(gf.faces_table(), size=256, resize='native', bs=16, augment=False, oversample=False, check=False)
    learn, weights = anomaly_learner(dls), gf.CACHE/f'anomaly_e{epochs}.pt'
    if weights.is_file(): learn.model.load_state_dict(torch.load(weights)); learn.cbs.filter(lambda c: hasattr(c, 'cal'))[0].calibrate_on(dls.valid)
    else:
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
        torch.save(learn.model.state_dict(), weights)
    model = learn.model.eval()
    cb = learn.cbs.filter(lambda c: hasattr(c, 'cal'))[0]
    def score(set_name, rows=None):
        ims = gf.image_set(set_name); ims = ims if rows is None else [ims[i] for i in np.flatnonzero(rows)]
        with torch.no_grad(): s = np.concatenate([score_batch(model, gf.normalised(ims[i:i + 16]), cb.score, cb.window, cb.border).numpy()
                                                  for i in range(0, len(ims), 16)])
        return cb.cal(s)
    out = dict(val=score('faces', d.mask['val']), test=score('faces', d.mask['test']), half=score('half'), **{s: score(s) for s in SD_SETS})
    np.savez(f, **out)
    print(f'  anomaly autoencoder ({epochs} epochs, photos only): {time.perf_counter() - t0:.0f} s', flush=True)
    return out


def rank_mean(a: dict, b: dict, d: Data, w: float = 0.5) -> dict:
    "Weighted mean of two variants' scores as ranks among their val scores (`ensemble.combine_probs`, method 'rank')."
    from artifact_fastai.ensemble import combine_probs
    ref = np.stack([np.quantile(a['val'], np.linspace(0, 1, 101)), np.quantile(b['val'], np.linspace(0, 1, 101))])
    return {k: combine_probs(np.stack([a[k], b[k]]), [w, 1 - w], 'rank', ref) for k in a}


def end_to_end(d: Data, folder: Path) -> dict:
    "Train the `probe_novelty` recipe into `folder` (unless there) and score every set through `load_detector` (cached)."
    f = gf.CACHE/'e2e_probe_novelty.npz'
    if f.is_file(): return dict(np.load(f))
    from artifact_fastai.recipes import train_recipe_detector
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.data import open_image
    from artifact_fastai.robustness import perturb_images, rescale, detector_proba
    import pandas as pd
    t0, table = time.perf_counter(), gf.faces_table()
    if not (folder/'config.json').is_file(): train_recipe_detector(table, 'probe_novelty', out=folder, quiet=True)
    det = load_detector(folder)
    t1 = time.perf_counter()
    faces = lambda m: [open_image(gf.FACES/p) for p in table.path[m]]
    out = dict(val=detector_proba(det, faces(d.mask['val'])), test=detector_proba(det, faces(d.mask['test'])),
               sd=detector_proba(det, [open_image(gf.SD/p) for p in pd.read_csv(gf.SD/'labels.csv').image]),  # 768 px: det rescales
               half=detector_proba(det, perturb_images(faces(d.mask['test']), rescale(0.5, 'jpeg'))),
               sd_q75=np.full(505, np.nan), sd_crop=np.full(505, np.nan))
    np.savez(f, **out)
    print(f'  end to end: trained in {t1 - t0:.0f} s, scored {sum(len(v) for v in out.values()) - 1010} images in {time.perf_counter() - t1:.0f} s', flush=True)
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--e2e', action='store_true', help="also train the probe_novelty recipe and score through load_detector (about 20 CPU minutes)")
    ap.add_argument('--model', default=str(gf.HERE/'results'/'faces_probe_novelty'))
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    import torch
    torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '1')))
    from artifact_fastai.report import markdown_table
    import pandas as pd
    if not (gf.FACES/'labels.csv').is_file() or not (gf.SD/'labels.csv').is_file():
        raise SystemExit(f'needs {gf.FACES} and {gf.SD}: nothing to measure')
    d, blocks = Data(), probe_blocks()
    lite0 = blocks[0]
    V = {}
    V['probe'] = scores_of(d, 'probe', probe_head(d, blocks=blocks))
    V['probe + blur/JPEG copies'] = scores_of(d, 'probe', probe_head(d, blocks=blocks, aug='add'))
    V['probe, blur/JPEG copies only'] = scores_of(d, 'probe', probe_head(d, blocks=blocks, aug='only'))
    V['probe Lite0 (RGB)'] = scores_of(d, 'probe', probe_head(d, cols=lite0), cols=lite0)
    V['probe Lite0 on NPR'] = scores_of(d, 'npr', probe_head(d, 'npr'))
    V['probe Lite0 on NPR + blur/JPEG'] = scores_of(d, 'npr', probe_head(d, 'npr', aug='add'))
    V['spectrum + logistic'] = scores_of(d, 'spectrum', logistic(d, 'spectrum'))
    V['spectrum + logistic + blur/JPEG'] = scores_of(d, 'spectrum', logistic(d, 'spectrum', aug='add'))
    V['anomaly autoencoder (photos only)'] = anomaly_scores(d)
    for k in (8, 32):
        V[f'one-class Gaussian, probe features, {k} PCs (photos only)'] = scores_of(d, 'probe', one_class_gaussian(d, n_components=k))
    V['one-class Gaussian, NPR features, 32 PCs'] = scores_of(d, 'npr', one_class_gaussian(d, 'npr', 32))
    for k in (1, 5, 20):
        V[f'one-class {k}-NN, NPR features (photos only)'] = scores_of(d, 'npr', one_class_knn(d, 'npr', k))
    V['one-class 5-NN, probe features (photos only)'] = scores_of(d, 'probe', one_class_knn(d, 'probe', 5))
    V['one-class 5-NN, spectrum (photos only)'] = scores_of(d, 'spectrum', one_class_knn(d, 'spectrum', 5))
    base = V['probe']
    for name in ['probe Lite0 on NPR', 'spectrum + logistic', 'anomaly autoencoder (photos only)',
                 'one-class Gaussian, probe features, 32 PCs (photos only)']:
        V[f'rank mean: probe + {name}'] = rank_mean(base, V[name], d)
    for name in [n for n in V if n.startswith('one-class')] + ['anomaly autoencoder (photos only)', 'spectrum + logistic']:
        V[f'either: probe or {name}'] = either(d, base, V[name])
    for k, power in ((5, 1), (5, 2), (20, 1), (20, 2), (20, 4)):
        V[f'either rule, product code: k={k}, power={power}' + (' (recipe probe_novelty)' if (k, power) == (20, 2) else '')] = product_either(d, k, power)
    for bank in (('train_rescaled',), ('train_aug',), ('train_rescaled', 'train_aug')):
        for k, power in ((5, 1), (20, 2)):
            V[f'either rule, k={k}, power={power}, bank + copies: {" + ".join(bank)}'] = product_either(d, k, power, bank_sets=bank)
    V['either: probe + blur/JPEG or one-class 5-NN NPR'] = either(d, V['probe + blur/JPEG copies'], V['one-class 5-NN, NPR features (photos only)'])
    if args.e2e: V['probe_novelty recipe end to end (train_recipe_detector, load_detector, 768 px SD rescaled by Detector)'] = end_to_end(d, Path(args.model))
    table = pd.DataFrame([row(n, d, s) for n, s in V.items()])
    text = (f"# Cross-generator variants (issue 18, item 4)\n\n`OMP_NUM_THREADS=1 .venv/bin/python bench/bench_generators.py`, "
            f"load average {os.getloadavg()[0]:.2f}\n\n" + markdown_table(table, 3) + '\n')
    (gf.HERE/'results'/'generators.md').write_text(text); print(text)


if __name__ == '__main__':
    main()

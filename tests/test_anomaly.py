"Contracts of artifact_fastai.anomaly: one-class training drops Artifact images, scores rank artifacts high, save/load."
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from scipy import ndimage
from sklearn.metrics import roc_auc_score
from fastai.callback.core import Callback

from artifact_fastai.core import ARTIFACT, CLEAN, seed_everything
from artifact_fastai.data import artifact_dataloaders, split_dataloader
from artifact_fastai.synth import add_checkerboard, _random_box
from artifact_fastai.learner import save_detector
from artifact_fastai.kinds import load_detector
from artifact_fastai.anomaly import (AnomalyDetector, ScoreCalibration, anomaly_learner, anomaly_score,
                                     dataloader_scores, periodic_score)
from artifact_fastai.synth import make_synthetic_dataset, artifact_regions

SIZE = 32


def smooth_dataset(dest: Path, n=160, artifact_frac=0.3, seed=0) -> tuple[Path, dict]:
    """A learnable one-class task in the seed layout: smooth random colour fields (Clean) and the same kind of field
    with `synth.add_checkerboard`'s defect in a random box (Artifact). Returns the root and the boxes."""
    (dest/'images').mkdir(parents=True)
    rng, rows, boxes = np.random.default_rng(seed), [], {}
    for i in range(n):
        img = ndimage.gaussian_filter(rng.random((SIZE, SIZE, 3)).astype(np.float32), (SIZE / 6, SIZE / 6, 0))
        img = (img - img.min()) / (img.max() - img.min() + 1e-6) * 0.6 + 0.2
        label = ARTIFACT if rng.random() < artifact_frac else CLEAN
        name = f'images/{i:04d}.png'
        if label == ARTIFACT:
            box = _random_box(SIZE, rng)
            img, _ = add_checkerboard(img, box, 1.0, rng)
            boxes[name] = box
        Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(dest/name)
        rows.append((name, label, 'train' if i % 5 < 3 else ('val' if i % 5 == 3 else 'test')))
    df = pd.DataFrame(rows, columns=['image', 'label', 'split'])
    for split in ('train', 'val', 'test'): df[df.split == split][['image', 'label']].to_csv(dest/f'{split}.csv', index=False)
    return dest, boxes


class LabelsBefore(Callback):
    "Counts the labels of training batches before the anomaly callback sees them."
    order = 0
    def before_fit(self): self.n_artifact = self.n_clean = self.batches_without_clean = 0
    def before_batch(self):
        if not self.training: return
        y = self.learn.yb[0]
        self.n_artifact += int((y == ARTIFACT).sum()); self.n_clean += int((y == CLEAN).sum())
        self.batches_without_clean += int(not (y == CLEAN).any())


class ForwardedAfter(Callback):
    "Counts the training images (and their targets) that reach the model after the anomaly callback."
    order = 2
    def before_fit(self): self.n, self.target_is_input = 0, True
    def before_batch(self):
        if not self.training: return
        self.n += len(self.learn.xb[0])
        self.target_is_input &= self.learn.yb[0] is self.learn.xb[0]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root, boxes = smooth_dataset(tmp_path_factory.mktemp('smooth'))
    seed_everything(0)
    dls = artifact_dataloaders(root, size=SIZE, bs=8, augment=False)  # oversampled: about half of each batch is Artifact
    before, after = LabelsBefore(), ForwardedAfter()
    learn = anomaly_learner(dls, window=6, score='error', cbs=[before, after])
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(12, 1e-2)
    return dict(root=root, boxes=boxes, dls=dls, learn=learn, before=before, after=after, cb=learn.anomaly_autoencoder)


def test_callback_drops_every_artifact_image_from_training(trained):
    cb, before, after = trained['cb'], trained['before'], trained['after']
    assert before.n_artifact > 50  # the oversampling dataloader really delivered many Artifact images
    assert cb.n_dropped == before.n_artifact
    assert cb.n_kept == before.n_clean == after.n
    assert after.target_is_input  # reconstruction: the target of every training batch is its input


def test_autoencoder_scores_artifacts_above_clean(trained):
    learn, dls = trained['learn'], trained['dls']
    scores, labels = dataloader_scores(learn.model, split_dataloader(dls, 'test'), window=6, score='error')
    auc = roc_auc_score(labels == ARTIFACT, scores)
    assert auc > 0.85, auc
    cb = trained['cb']
    assert cb.cal.method == 'logistic' and cb.threshold_source == 'val:max_f1'
    assert roc_auc_score(labels == ARTIFACT, cb.cal(scores)) == pytest.approx(auc)  # calibration is monotone


def test_training_is_what_makes_the_error_score_work(trained):
    "One-class learning, not the architecture: the same network untrained ranks the smooth-field defects far worse."
    learn, dls = trained['learn'], trained['dls']
    test_dl = split_dataloader(dls, 'test')
    def auc(model):
        scores, labels = dataloader_scores(model, test_dl, window=6, score='error')
        return roc_auc_score(labels == ARTIFACT, scores)
    seed_everything(0)
    untrained = anomaly_learner(dls, window=6, score='error').model
    # measured: trained 0.925 / untrained 0.600 (seeds 1, 2 of the dataloaders: 0.933 / 0.629, 0.996 / 0.617)
    assert auc(learn.model) > auc(untrained) + 0.2, (auc(learn.model), auc(untrained))


def test_save_load_round_trip_and_error_map_localises(trained, tmp_path):
    learn, cb, root = trained['learn'], trained['cb'], trained['root']
    folder = save_detector(learn, tmp_path/'ae', threshold=cb.threshold, threshold_source=cb.threshold_source)
    det = load_detector(folder)
    assert isinstance(det, AnomalyDetector) and det.config.kind == 'anomaly'
    assert det.config.threshold == pytest.approx(cb.threshold) and det.config.extra['window'] == 6
    test = pd.read_csv(root/'test.csv')
    imgs = [Image.open(root/p).convert('RGB') for p in test.image]
    scores, _ = dataloader_scores(learn.model, split_dataloader(trained['dls'], 'test'), window=6, score='error')
    np.testing.assert_allclose(det.predict_proba(imgs), cb.cal(scores), rtol=1e-4, atol=1e-6)
    out = det.predict([str(root/p) for p in test.image[:4]], progress=False)
    assert out['label'].isin(['Artifact', 'Clean']).all()
    # the error map of an artifact image peaks inside its defect box (a few pixels of slack for the soft edge)
    hits = []
    for p in test.image[test.label == ARTIFACT]:
        err = det.error_maps([Image.open(root/p).convert('RGB')])[0]
        assert err.shape == (SIZE, SIZE) and err.max() == pytest.approx(1.0)
        yy, xx = np.unravel_index(err.argmax(), err.shape)
        x, y, w, h = trained['boxes'][p]
        hits.append(x - 2 <= xx < x + w + 2 and y - 2 <= yy < y + h + 2)
    assert np.mean(hits) >= 0.8, hits


def test_scores_and_calibration_units():
    err = torch.zeros(2, 12, 12); err[1, :4, :4] = 2.0
    torch.testing.assert_close(anomaly_score(err, 4, border=0), torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(anomaly_score(err, 4, border=2), torch.tensor([0.0, 0.5]))  # 2x2 of the 4x4 defect remain
    cal = ScoreCalibration.fit([1, 2, 3, 10, 12], [1, 1, 1, 0, 0], 'rank')
    np.testing.assert_allclose(cal([0.5, 2, 20]), [0, 0.5, 1])
    with pytest.raises(ValueError, match='not one of'): ScoreCalibration.fit([1, 2], [0, 1], 'isotonic')


def test_periodic_score_separates_a_grid_from_noise():
    g = torch.Generator().manual_seed(0)
    res = torch.randn(4, 32, 32, generator=g)
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing='ij')
    res[1, 6:24, 10:28] += 2 * ((xx + yy) % 2 - 0.5)[6:24, 10:28]                          # period 2 grid
    res[2, 10:28, 4:22] += 1.5 * torch.sin(2 * torch.pi * 0.25 * xx)[10:28, 4:22]           # period 4 grating
    s = periodic_score(res)
    assert s.shape == (4,) and (s > 1).all()  # a peak is at least the mean power
    assert s[1] > 40 and s[2] > 30 and s[0] < 15 and s[3] < 15, s  # white noise has no spectral peak
    s_small = periodic_score(res[:, :10, :10])  # images smaller than the window: one patch of the whole image
    assert s_small.shape == (4,)


def test_model_without_calibration_refuses_to_load(trained, tmp_path):
    learn = anomaly_learner(trained['dls'])  # never fitted: no calibration recorded
    folder = save_detector(learn, tmp_path/'raw')
    with pytest.raises(ValueError, match='no score calibration'): load_detector(folder)


PERIODIC_KINDS = ('checkerboard', 'spectral')


@pytest.fixture(scope='module')
def synth_scores(tmp_path_factory):
    """The default (periodic) anomaly detector trained through fastai on the Clean images of
    `make_synthetic_dataset` (all five defect kinds, half Artifact), scored on every image it was not trained on."""
    root = make_synthetic_dataset(tmp_path_factory.mktemp('synth'), n=400, artifact_frac=0.5, size=64, seed=0, style='traces')
    seed_everything(0)
    dls = artifact_dataloaders(root, size=64, bs=16, oversample=False, augment=True, check=False)
    learn = anomaly_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 1e-2)
    cb, df, kinds = learn.anomaly_autoencoder, dls.split_df, artifact_regions(root)['kind']
    out = []
    for split in ('train', 'val', 'test'):
        s, y = dataloader_scores(learn.model, split_dataloader(dls, split), cb.window, cb.border, cb.score)
        sub = df[df.split == split]
        out.append(pd.DataFrame(dict(split=split, score=s, label=y, kind=[kinds.get(p, 'clean') for p in sub.path])))
    return cb, pd.concat(out, ignore_index=True), learn, root, dls


def test_periodic_score_detects_synthetic_grid_and_spectral_artifacts(synth_scores):
    cb, t = synth_scores[:2]
    assert cb.score == 'periodic' and cb.n_dropped > 0 and cb.cal is not None
    # Artifact images of the training split were dropped by the callback, so no Artifact image was ever trained on;
    # Clean images of the training split were, so they are left out.
    clean = t[(t.label == CLEAN) & (t.split != 'train')]
    def auc(art): return roc_auc_score(np.r_[np.zeros(len(clean)), np.ones(len(art))], np.r_[clean.score, art.score])
    periodic = t[t.kind.isin(PERIODIC_KINDS)]
    # chance: 0.5 with sd about 0.05 for these ~80 Artifact and 60 Clean images; measured 0.9x (see the notebook)
    print(f"AUC periodic kinds {auc(periodic):.3f}, all kinds {auc(t[t.label == ARTIFACT]):.3f}")
    assert auc(periodic) > 0.8, auc(periodic)
    # all five kinds: blend, warp and duplicate are close to invisible to the score, so the floor is lower
    everything = t[t.label == ARTIFACT]
    assert auc(everything) > 0.63, auc(everything)  # 3 sd above chance for 200 Artifact and 60 Clean images


def test_periodic_detector_save_load_round_trip(synth_scores, tmp_path):
    cb, t, learn, root, dls = synth_scores
    det = load_detector(save_detector(learn, tmp_path/'ae', threshold=cb.threshold, threshold_source=cb.threshold_source))
    assert isinstance(det, AnomalyDetector) and det.score == 'periodic' and det.window == 16
    test = dls.split_df[dls.split_df.split == 'test'].head(12)
    imgs = [Image.open(root/p).convert('RGB') for p in test.path]
    np.testing.assert_allclose(det.predict_proba(imgs), cb.cal(t[t.split == 'test'].score.values[:12]), rtol=1e-4, atol=1e-6)
    maps = det.error_maps(imgs[:3])
    assert maps.shape == (3, 64, 64) and np.allclose(maps.max((1, 2)), 1) and (maps[:, :2] == 0).all()

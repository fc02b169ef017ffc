"Contracts of the robustness sweep: label-blind perturbations, the sweep table, the format check."
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from artifact_fastai.core import ARTIFACT, CLEAN, DetectorConfig
from artifact_fastai.detector import Detector
from artifact_fastai.synth import clean_image
from artifact_fastai.robustness import (standard_perturbations, perturb_images, robustness_sweep, format_check,
                                        plot_sweep, jpeg, downscale, blur, noise, png, identity)


def _images(n=12, size=32, seed=0):
    return [Image.fromarray((clean_image(size, np.random.default_rng([seed, i])) * 255).astype(np.uint8)) for i in range(n)]


class MeanBrightness(torch.nn.Module):
    "Logit of Artifact = a * (mean brightness - 0.5): a model whose decision we can predict exactly."
    def __init__(self, a=8.0): super().__init__(); self.a = a
    def forward(self, x):
        s = self.a * (x[:, :3].mean((1, 2, 3)) - 0.0)
        return torch.stack([s, torch.zeros_like(s)], 1)


def _detector(size=32, tta=None):
    cfg = DetectorConfig(img_size=size, resize='native', mean=(0., 0., 0.), std=(1., 1., 1.), threshold=0.5,
                         extra={'tta': tta})
    return Detector(cfg, MeanBrightness())


def test_perturbations_are_applied_identically_to_both_classes():
    "Every image appears once as Artifact and once as Clean: after any perturbation both classes score exactly alike."
    imgs = _images(6)
    twins, y = imgs + imgs, np.array([ARTIFACT] * 6 + [CLEAN] * 6)
    table = robustness_sweep(_detector(), (twins, y), perturbations=standard_perturbations('size'))
    assert len(table) == len(standard_perturbations('size'))
    # float reductions may differ in the last bits with the position in a batch; nothing else may differ
    np.testing.assert_allclose(table.p_artifact_on_artifact.to_numpy(), table.p_artifact_on_clean.to_numpy(), atol=1e-5)
    assert (table.auc - 0.5).abs().max() <= 6 / 72  # only the 6 twin pairs (of 36) can be near-ties
    for pert in standard_perturbations('size'):
        out = perturb_images(twins, pert, seed=3)
        for i in range(6): np.testing.assert_array_equal(np.asarray(out[i]), np.asarray(out[i + 6]))
    # and the perturbed pixels do not depend on position in the list either
    for pert in standard_perturbations():
        a, b = perturb_images(imgs, pert, seed=3), perturb_images(imgs[::-1], pert, seed=3)[::-1]
        for u, v in zip(a, b): np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_perturbation_effects():
    img = _images(1, 64)[0]
    diff = lambda p: np.abs(np.asarray(p(img), float) - np.asarray(img, float)).mean()
    assert diff(identity()) == 0 and diff(png()) == 0
    assert 0 < diff(jpeg(95)) < diff(jpeg(75)) < diff(jpeg(50))
    assert 0 < diff(blur(0.5)) < diff(blur(1)) < diff(blur(2))
    assert 0 < diff(downscale(0.75)) < diff(downscale(0.5))
    assert abs(diff(noise(10)) - 10 * np.sqrt(2 / np.pi)) < 1.0  # mean |N(0, 10)| before clipping
    assert downscale(0.5, restore=False)(img).size == (32, 32)


def test_sweep_values_match_a_model_we_can_compute():
    "With brightness as the score, AUC must equal the AUC of mean brightness; the table has one row per perturbation."
    imgs = _images(12)
    y = np.array([ARTIFACT, CLEAN] * 6)
    imgs = [Image.fromarray(np.clip(np.asarray(im, int) + (40 if lab == ARTIFACT else 0), 0, 255).astype(np.uint8))
            for im, lab in zip(imgs, y)]
    perts = [identity(), jpeg(75), blur(1), noise(5)]
    table = robustness_sweep(_detector(), (imgs, y), perturbations=perts)
    assert list(table.perturbation) == ['none', 'jpeg75', 'blur1', 'noise5']
    from sklearn.metrics import roc_auc_score
    bright = np.array([np.asarray(im, float).mean() for im in imgs])
    assert table.auc[0] == pytest.approx(roc_auc_score(y == ARTIFACT, bright))
    assert table.auc_drop[0] == 0 and (table.n == 12).all()
    # blur keeps the mean brightness, so this model's AUC does not move
    assert table.auc[2] == pytest.approx(table.auc[0], abs=0.02)
    ax = plot_sweep(table)
    assert len(ax.patches) == 4


def test_format_check_container_is_exact_and_swing_reported():
    imgs = _images(10)
    y = np.array([ARTIFACT] * 5 + [CLEAN] * 5)
    fc = format_check(_detector(), (imgs, y), quality=90)
    assert fc.max_abs_diff.iloc[1] == 0.0
    assert list(fc.perturbation)[0] == 'original'
    assert 'auc_swing' in fc.attrs and abs(fc.attrs['auc_swing']) <= 1


def test_sweep_accepts_a_learner(synth_root):
    "A fastai learner is wrapped as a Detector with the recipe's settings (no training: 0 epochs is enough here)."
    from artifact_fastai.recipes import recipe_dataloaders, recipe_learner
    dls = recipe_dataloaders(synth_root, 'fast', size=48, train_crop=40, bs=16)
    learn = recipe_learner(dls, 'fast')
    table = robustness_sweep(learn, synth_root, split='test', perturbations=[identity(), jpeg(50)])
    assert len(table) == 2 and table.n.iloc[0] == int((dls.split_df.split == 'test').sum())

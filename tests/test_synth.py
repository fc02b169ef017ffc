"Synthetic data: determinism, layout, class ratio, known defect regions, both styles, and a pretrained Lite0 learns it."
import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.synth import (ARTIFACT_KINDS, CATEGORIES, PORTRAIT_KINDS, PORTRAIT_STRENGTH, REGION_COLUMNS,
                                   make_synthetic_dataset, artifact_regions, artifact_mask, portrait_image)


def _digest(root):
    files = sorted(p for p in root.rglob('*') if p.is_file())
    return hashlib.sha256(b''.join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()


def _table(root):
    return pd.concat([pd.read_csv(root/f'{s}.csv').assign(split=s) for s in ('train', 'val', 'test')])


@pytest.mark.parametrize('style', ['portrait', 'traces'])
def test_same_seed_same_bytes(tmp_path, style):
    a = make_synthetic_dataset(tmp_path/'a', n=40, seed=5, size=32, style=style)
    b = make_synthetic_dataset(tmp_path/'b', n=40, seed=5, size=32, style=style)
    c = make_synthetic_dataset(tmp_path/'c', n=40, seed=6, size=32, style=style)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


@pytest.mark.parametrize('style', ['portrait', 'traces'])
def test_layout_ratio_and_regions(tmp_path, style):
    root = make_synthetic_dataset(tmp_path, n=100, artifact_frac=0.1, size=40, seed=0, style=style)
    df = _table(root)
    assert len(df) == 100 and df.image.is_unique
    assert (df.label == ARTIFACT).sum() == 10
    assert df.groupby('split').label.apply(lambda s: set(s)).map(lambda s: s == {ARTIFACT, CLEAN}).all()
    assert list(pd.read_csv(root/'artifacts.csv').columns) == REGION_COLUMNS
    assert list(pd.read_csv(root/'train.csv').columns) == ['image', 'label']
    regions = artifact_regions(root)
    assert set(regions.index) == set(df.image[df.label == ARTIFACT])
    assert (regions.categories == regions.kind.map(CATEGORIES)).all()
    for image, r in regions.iterrows():
        mask = artifact_mask(root, image)
        inside = mask[r.y:r.y + r.h, r.x:r.x + r.w].sum()
        assert inside / max(mask.sum(), 1e-6) > 0.97, image   # the recorded box holds the mask
    assert artifact_mask(root, df.image[df.label == CLEAN].iloc[0]).max() == 0


def test_portrait_masks_and_boxes_are_exactly_the_drawn_defects(tmp_path):
    "Each saved Artifact image is the clean source plus one defect: the mask is non-zero exactly where they differ."
    seed, size = 3, 64
    root = make_synthetic_dataset(tmp_path, n=60, artifact_frac=0.5, size=size, seed=seed)
    regions = artifact_regions(root)
    assert len(regions) == 30
    for image, r in regions.iterrows():
        i = int(image.split('_')[-1].split('.')[0])   # item i is drawn from the generator seeded by (seed, i)
        clean, img, mask, rec = portrait_image(size, np.random.default_rng([seed, i]), kinds=PORTRAIT_KINDS,
                                               strength=PORTRAIT_STRENGTH)
        saved = np.asarray(Image.open(root/image))
        saved_mask = np.asarray(Image.open(root/'masks'/image.split('/')[-1]))
        np.testing.assert_array_equal(saved, img)
        np.testing.assert_array_equal(saved_mask, mask)
        changed = (saved != clean).any(-1)
        assert changed.sum() >= 4, image
        np.testing.assert_array_equal(saved_mask > 0, changed)        # the mask is exactly the changed pixels
        ys, xs = np.nonzero(changed)
        assert (r.x, r.y, r.w, r.h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1), image
        assert (r.kind, r.categories) == (rec['kind'], CATEGORIES[rec['kind']])
    # a Clean image of the set is a clean source: drawing item i as Clean gives its bytes
    clean_row = _table(root).query('label == @CLEAN').iloc[0]
    i = int(clean_row.image.split('_')[-1].split('.')[0])
    np.testing.assert_array_equal(np.asarray(Image.open(root/clean_row.image)),
                                  portrait_image(size, np.random.default_rng([seed, i]), artifact=False)[1])


@pytest.mark.parametrize('kind', PORTRAIT_KINDS)
def test_each_portrait_kind_appears_with_its_category(tmp_path, kind):
    root = make_synthetic_dataset(tmp_path, n=30, artifact_frac=0.2, size=48, seed=1, kinds=(kind,))
    regions = artifact_regions(root)
    assert len(regions) == 6 and set(regions.kind) == {kind} and set(regions.categories) == {CATEGORIES[kind]}


def test_default_mix_draws_every_kind(tmp_path):
    root = make_synthetic_dataset(tmp_path, n=100, artifact_frac=0.5, size=32, seed=0)
    regions = artifact_regions(root)
    assert set(regions.kind) == set(PORTRAIT_KINDS)
    assert set(regions.categories) == {'text', 'tattoo', 'mask', 'deform', 'hand'}


@pytest.mark.parametrize('kind', ARTIFACT_KINDS)
def test_single_trace_kind(tmp_path, kind):
    root = make_synthetic_dataset(tmp_path, n=30, artifact_frac=0.2, size=32, seed=1, kinds=(kind,), style='traces')
    regions = artifact_regions(root)
    assert set(regions.kind) == {kind} and set(regions.categories) == {'trace'}


def test_style_and_kind_errors(tmp_path):
    with pytest.raises(ValueError, match="style='traces'"): make_synthetic_dataset(tmp_path, n=20, kinds=('checkerboard',))
    with pytest.raises(ValueError, match="style='portrait'"): make_synthetic_dataset(tmp_path, n=20, kinds=('text',), style='traces')
    with pytest.raises(ValueError, match='unknown style'): make_synthetic_dataset(tmp_path, n=20, style='gan')


@pytest.mark.parametrize('style', ['portrait', 'traces'])
def test_artifacts_are_not_solved_by_global_statistics(tmp_path, style):
    "A plain pixel-statistics baseline must not separate the classes: brightness and a global high-pass energy."
    from sklearn.metrics import roc_auc_score
    root = make_synthetic_dataset(tmp_path, n=200, artifact_frac=0.5, size=48, seed=2, style=style)
    df = _table(root)
    imgs = np.stack([np.asarray(Image.open(root/p), dtype=np.float32) / 255 for p in df.image])
    y_art = (df.label.to_numpy() == ARTIFACT)
    mean_auc = roc_auc_score(y_art, imgs.mean(axis=(1, 2, 3)))
    assert 0.3 < mean_auc < 0.7                       # brightness alone says nothing
    hp = np.abs(np.diff(imgs, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(imgs, axis=2)).mean(axis=(1, 2, 3))
    assert roc_auc_score(y_art, hp) < 0.95            # not solved by one global statistic


def test_pretrained_lite0_features_learn_a_small_portrait_set(tmp_path):
    """Frozen ImageNet Lite0 features and a linear head (`probe.train_probe`) learn the default portrait mix.

    Measured (120 images of 96 px, 72 for training, full default mix and strength): val AUC 0.704, test 0.722,
    about 20 s. Val holds 18 Artifact + 18 Clean, so chance has sd ~0.1: the floor of 0.62 only says "above chance".
    A fine-tuned Lite0 (`fine_tune(3)`, bs 8) on the same kind of set stayed at chance (val AUC 0.50), see bench/README.md."""
    from artifact_fastai.probe import train_probe
    root = make_synthetic_dataset(tmp_path, n=120, artifact_frac=0.5, size=96, seed=0, strength=(0.3, 1.0), fracs=(0.6, 0.3, 0.1))
    _, metrics, *_ = train_probe(root, archs=('efficientnet_lite0',), size=96, progress=False, check=False)
    assert metrics['val_auc'] >= 0.62, metrics

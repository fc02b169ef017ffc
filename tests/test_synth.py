"Synthetic data: determinism, layout, class ratio, known defect regions."
import hashlib

import numpy as np
import pandas as pd
import pytest

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.synth import ARTIFACT_KINDS, make_synthetic_dataset, artifact_regions, artifact_mask


def _digest(root):
    files = sorted(p for p in root.rglob('*') if p.is_file())
    return hashlib.sha256(b''.join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()


def test_same_seed_same_bytes(tmp_path):
    a = make_synthetic_dataset(tmp_path/'a', n=40, seed=5, size=32)
    b = make_synthetic_dataset(tmp_path/'b', n=40, seed=5, size=32)
    c = make_synthetic_dataset(tmp_path/'c', n=40, seed=6, size=32)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_layout_ratio_and_regions(tmp_path):
    root = make_synthetic_dataset(tmp_path, n=100, artifact_frac=0.1, size=40, seed=0)
    df = pd.concat([pd.read_csv(root/f'{s}.csv').assign(split=s) for s in ('train', 'val', 'test')])
    assert len(df) == 100 and df.image.is_unique
    assert (df.label == ARTIFACT).sum() == 10
    assert df.groupby('split').label.apply(lambda s: set(s)).map(lambda s: s == {ARTIFACT, CLEAN}).all()
    regions = artifact_regions(root)
    assert set(regions.index) == set(df.image[df.label == ARTIFACT])
    for image, r in regions.iterrows():
        mask = artifact_mask(root, image)
        inside = mask[r.y:r.y + r.h, r.x:r.x + r.w].sum()
        assert inside / max(mask.sum(), 1e-6) > 0.97, image   # the recorded box holds the mask
    assert artifact_mask(root, df.image[df.label == CLEAN].iloc[0]).max() == 0


@pytest.mark.parametrize('kind', ARTIFACT_KINDS)
def test_single_kind(tmp_path, kind):
    root = make_synthetic_dataset(tmp_path, n=30, artifact_frac=0.2, size=32, seed=1, kinds=(kind,))
    assert set(artifact_regions(root).kind) == {kind}


def test_artifacts_are_learnable_but_not_trivial(tmp_path):
    "A plain pixel-statistics baseline must not separate the classes perfectly, a high-pass feature must do better than chance."
    from sklearn.metrics import roc_auc_score
    from PIL import Image
    root = make_synthetic_dataset(tmp_path, n=200, artifact_frac=0.5, size=48, seed=2)
    df = pd.concat([pd.read_csv(root/f'{s}.csv') for s in ('train', 'val', 'test')])
    imgs = np.stack([np.asarray(Image.open(root/p), dtype=np.float32) / 255 for p in df.image])
    y_art = (df.label.to_numpy() == ARTIFACT)
    mean_auc = roc_auc_score(y_art, imgs.mean(axis=(1, 2, 3)))
    assert 0.3 < mean_auc < 0.7                       # brightness alone says nothing
    hp = np.abs(np.diff(imgs, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(imgs, axis=2)).mean(axis=(1, 2, 3))
    assert roc_auc_score(y_art, hp) < 0.95            # not solved by one global statistic

"Contracts of the training recipes: native crops, high-pass channel, self-blending, folds, and a recipe that learns."
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.synth import make_synthetic_dataset, clean_image
from artifact_fastai.data import fold_splits
from artifact_fastai.augment import TrainCrop, HighPass, highpass_channel, self_blend, SelfBlend, recipe_weights
from artifact_fastai.detector import tta_proba
from artifact_fastai.augment import transform_input
from artifact_fastai.recipes import get_recipe, RECIPES, recipe_dataloaders, recipe_extra, train_recipe, split_proba


def _img(size=64, seed=0):
    return Image.fromarray((clean_image(size, np.random.default_rng(seed)) * 255).astype(np.uint8))


def test_train_crop_keeps_native_pixels_and_skips_validation():
    from fastai.vision.core import PILImage
    img = PILImage.create(np.asarray(_img(64)))
    big = np.asarray(img)
    for _ in range(5):
        out = np.asarray(TrainCrop(40)(img, split_idx=0))
        assert out.shape == (40, 40, 3)
        hits = [(t, l) for t in range(25) for l in range(25) if np.array_equal(big[t:t + 40, l:l + 40], out)]
        assert hits, 'the crop must be an exact window of the original pixels (no resampling)'
    assert TrainCrop(40)(img, split_idx=1).size == (64, 64)


def test_highpass_channel_values():
    x = torch.zeros(1, 3, 9, 9); x[..., 4, 4] = 1.0  # a single bright pixel
    h = highpass_channel(x, sigma=1.0, gain=1.0)
    assert h.shape == (1, 4, 9, 9)
    assert h[0, 3, 4, 4] > 0.5 and h[0, 3, 0, 0].abs() < 1e-6  # peak kept, far field zero
    assert abs(float(h[0, 3].sum())) < 1e-5                     # a residual has zero mean
    assert HighPass().settings() == {'name': 'highpass', 'sigma': 1.0, 'gain': 4.0}


def test_self_blend_changes_only_the_masked_region():
    img = _img(64, 1)
    for seed in range(4):
        out, mask = self_blend(img, np.random.default_rng(seed))
        d = np.abs(np.asarray(out, float) - np.asarray(img, float)).max(-1)
        inside = mask > 0.5 * mask.max()
        assert mask.max() in (0.25, 0.5, 0.75, 1.0)   # the blend ratios of the paper
        assert d[mask < 1e-4].max() <= 1               # untouched outside (rounding)
        assert d[inside].mean() > 1                    # changed inside
        assert 0.02 < inside.mean() < 0.6              # a region, not the whole image


def test_self_blend_relabels_clean_training_items_only():
    from fastai.torch_core import TensorCategory
    from fastai.vision.core import PILImage
    t = SelfBlend(p=1.0)
    clean, art = (PILImage.create(np.asarray(_img())), TensorCategory(CLEAN)), (PILImage.create(np.asarray(_img())), TensorCategory(ARTIFACT))
    assert int(t(clean, split_idx=0)[1]) == ARTIFACT
    assert int(t(art, split_idx=0)[1]) == ARTIFACT and np.array_equal(np.asarray(t(art, split_idx=0)[0]), np.asarray(art[0]))
    assert int(t(clean, split_idx=1)[1]) == CLEAN


def test_batches_stay_balanced_with_self_blending(synth_root):
    "30% Artifact data, 25% of Clean items blended: the training batches still hold about half Artifacts."
    dls = recipe_dataloaders(synth_root, 'fast', size=48, train_crop=None, bs=32, self_blend=0.25, seed=0)
    ys = torch.cat([yb for _, (xb, yb) in zip(range(12), dls.train)])
    share = float((ys == ARTIFACT).float().mean())
    assert 0.4 < share < 0.6, share
    w = recipe_weights([0] * 30 + [1] * 70, 0.25)
    assert w[ARTIFACT] * 30 + w[CLEAN] * 70 == pytest.approx(1.0)


def test_fold_splits_partition():
    df = pd.DataFrame({'path': [f'{i}.png' for i in range(50)], 'label': [0] * 20 + [1] * 30, 'split': 'train'})
    df.attrs['root'] = '.'
    folds = [fold_splits(df, 5, k, seed=1) for k in range(5)]
    tested = np.concatenate([f.index[f.split == 'test'] for f in folds])
    assert sorted(tested.tolist()) == list(range(50))
    for f in folds:
        assert (f[f.split == 'test'].label == 0).sum() == 4
        assert set(f.split) == {'train', 'val', 'test'}
    with pytest.raises(ValueError, match='fold 5'): fold_splits(df, 5, 5)


def test_tta_and_extra_settings():
    model = lambda x: torch.stack([x[..., :x.shape[-1] // 2].mean((1, 2, 3)), torch.zeros(len(x))], 1)
    x = torch.zeros(2, 3, 4, 4); x[0, ..., :2] = 3.0
    p_plain, p_flip = tta_proba(model, x), tta_proba(model, x, 'flip')
    assert torch.allclose(p_flip, (p_plain + tta_proba(model, x.flip(-1))) / 2)
    extra = recipe_extra(get_recipe('default', highpass=True))
    four = tta_proba(lambda z: torch.stack([z[:, 3].abs().mean((1, 2)), torch.zeros(len(z))], 1),
                     transform_input(x, extra['input_transform']), extra['tta'])
    assert four.shape == (2,) and four[0] > four[1]  # the 4th channel exists and sees the edge
    assert recipe_extra(RECIPES['default'])['tta'] == 'flip'


@pytest.fixture(scope='module')
def learnable_root(tmp_path_factory):
    "120 synthetic 64 px images; Artifacts carry a transposed-convolution checkerboard over the whole frame (synth.add_checkerboard)."
    from artifact_fastai.synth import add_checkerboard
    root = tmp_path_factory.mktemp('learnable')
    (root/'images').mkdir()
    rows = []
    for i in range(120):
        rng = np.random.default_rng([7, i])
        img, label = clean_image(64, rng), ARTIFACT if i % 2 else CLEAN
        if label == ARTIFACT: img, _ = add_checkerboard(img, (0, 0, 64, 64), 2.0, rng)
        Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(root/'images'/f'{i:03d}.png')
        rows.append((f'images/{i:03d}.png', label))
    pd.DataFrame(rows, columns=['image', 'label']).to_csv(root/'labels.csv', index=False)
    return root


def test_recipe_learns_and_saved_model_reproduces_scores(learnable_root, tmp_path):
    "A short native-crop recipe beats chance clearly; the saved folder gives the same test scores (TTA included)."
    from sklearn.metrics import roc_auc_score
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.data import open_image
    learn, m = train_recipe(learnable_root, 'fast', out=tmp_path/'model', size=64, train_crop=48, freeze_epochs=1,
                            epochs=4, lr=5e-3, loss='ce', bs=16, seed=0)
    y = np.concatenate([learn.split_probs[s][0] for s in ('val', 'test')])
    p = np.concatenate([learn.split_probs[s][1] for s in ('val', 'test')])
    assert roc_auc_score(y == ARTIFACT, p) > 0.65, m  # chance is 0.5; seeds 0-2 give 0.74-0.85 here
    det = load_detector(tmp_path/'model')
    assert det.config.extra['tta'] == 'flip' and det.config.resize == 'native' and det.config.img_size == 64
    assert det.config.extra['recipe']['train_crop'] == 48
    y_test, p_test = learn.split_probs['test']
    rows = learn.dls.split_df[learn.dls.split_df.split == 'test']
    p_det = det.predict_proba([open_image(learnable_root/r) for r in rows.path])
    np.testing.assert_allclose(p_det, p_test, atol=1e-4)
    np.testing.assert_array_equal(rows.label.to_numpy(), y_test)


def test_cli_offers_every_recipe():
    "`artifact-fastai train --recipe` accepts exactly the presets of `RECIPES` (a new recipe cannot be forgotten there)."
    import argparse
    from artifact_fastai.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices['train']
    recipe = next(a for a in sub._actions if '--recipe' in a.option_strings)
    assert set(recipe.choices) == set(RECIPES), set(recipe.choices) ^ set(RECIPES)

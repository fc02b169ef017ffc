"""Cached inputs of bench/bench_generators.py: images at the training scale and their features (issue 18, item 4).

Every image is brought to the probe's training scale first (`detector.rescale_to_side` to a 256 px short side,
then the native 256 px centre crop / pad), exactly as `Detector.transform` does for a model with a scale record.
Sets: 'faces' (every row of `read_splits(faces140k-sample, seed=0)`, table order), 'sd' (the 505 Stable Diffusion 2.1
portraits of portrait-qa-dev, 768 -> 256 px), 'sd_q75' (those, re-encoded as JPEG 75 like every faces140k image:
a control for the confound that the real photographs carry 256 px JPEG-75 blocks and downscaled SD images none),
'sd_crop' (the native 256 px centre crop of the 768 px SD images, no resampling), 'half' (the 150 test rows rescaled 0.5x, re-encoded JPEG 95, then
brought back to 256 px), 'train_rescaled' (the 700 training rows, each shrunk by a factor ~U[0.5, 0.9], JPEG 95,
brought back to 256 px), 'train_aug' (the 700 training rows, each through `augment.blur_jpeg` once, seed 0).
Features: 'probe' (the probe recipe's frozen Lite0+1+2 pooled features, flip-averaged), 'npr' (the same features of
Lite0 alone computed on the NPR map, `augment.npr_residual`), 'spectrum' (`augment.radial_spectrum`, numpy).
Cached as bench/results/generators/{feature}_{set}.npy (delete to recompute).
"""
from __future__ import annotations
import os, time
from pathlib import Path

import numpy as np

os.environ.setdefault('HF_HUB_OFFLINE', '1')
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1]/'shared'/'data'
FACES, SD = DATA/'faces140k-sample', DATA/'portrait-qa-dev'
CACHE = HERE/'results'/'generators'
SIDE = 256
NPR_GAIN = 4.0


def faces_table():
    "The probe bench's split table of faces140k-sample (seed 0)."
    from artifact_fastai.data import read_splits
    return read_splits(FACES, seed=0)


def at_scale(img):
    "`img` as the detector sees it: short side 256 px, native centre crop / pad to 256 x 256."
    from artifact_fastai.detector import rescale_to_side
    from artifact_fastai.data import resize_transforms
    img = rescale_to_side(img.convert('RGB'), SIDE)
    for tfm in resize_transforms(SIDE, 'native'): img = tfm(img, split_idx=1)
    return img


def image_set(name: str) -> list:
    "PIL images of set `name` at the training scale (see the module docstring)."
    import pandas as pd
    from artifact_fastai.data import open_image
    from artifact_fastai.robustness import perturb_images, rescale, image_rng, jpeg
    from artifact_fastai.data import resize_transforms
    t = faces_table()
    if name == 'faces': return [at_scale(open_image(FACES/p)) for p in t.path]
    if name == 'sd': return [at_scale(open_image(SD/p)) for p in pd.read_csv(SD/'labels.csv').image]
    if name == 'sd_q75': return perturb_images(image_set('sd'), jpeg(75))
    if name == 'sd_crop':
        crop = resize_transforms(SIDE, 'native')[0]
        return [crop(open_image(SD/p).convert('RGB'), split_idx=1) for p in pd.read_csv(SD/'labels.csv').image]
    if name == 'half': return [at_scale(im) for im in perturb_images([open_image(FACES/p) for p in t.path[t.split == 'test']], rescale(0.5, 'jpeg'))]
    if name == 'train_rescaled':  # each training image shrunk by a factor ~U[0.5, 0.9] (JPEG 95), brought back to 256 px
        ims = [open_image(FACES/p) for p in t.path[t.split == 'train']]
        return [at_scale(rescale(float(image_rng(im, 1).uniform(0.5, 0.9)), 'jpeg')(im)) for im in ims]
    if name == 'train_aug':
        ims = [open_image(FACES/p) for p in t.path[t.split == 'train']]
        return [at_scale(blur_jpeg(im, image_rng(im, 0))) for im in ims]
    raise ValueError(name)


def normalised(images) -> 'torch.Tensor':
    "ImageNet-normalised float batch of PIL `images`."
    import torch
    x = torch.stack([torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1) for im in images]).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def blur_jpeg(img, rng, p_blur=0.5, max_sigma=3.0, p_jpeg=0.5, quality=(30, 100)):
    "Wang et al. 2020 (arXiv 1912.11035) augmentation: the product's `probe.blur_jpeg_copy` (same draws, same order)."
    from artifact_fastai.probe import blur_jpeg_copy
    return blur_jpeg_copy(img, rng, p_blur, max_sigma, p_jpeg, quality)


def npr_residual(x):
    "Neighbouring-pixel relations (Tan et al. 2024, arXiv 2312.10461): x - nearest-up(nearest-down(x)) by 2."
    import torch.nn.functional as F
    return x - F.interpolate(F.interpolate(x, scale_factor=0.5, mode='nearest'), size=x.shape[-2:], mode='nearest')


def radial_spectrum(img, n_bins: int = 48, sigma: float = 1.0):
    "Azimuthally averaged log power spectra of the grey image and of its high-pass residual: (2 n_bins,)."
    import cv2
    g = np.asarray(img.convert('L'), dtype=np.float32) / 255
    r = g - cv2.GaussianBlur(g, (0, 0), sigma)
    h, w = g.shape
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.rfftfreq(w), indexing='ij')
    b = np.minimum((np.hypot(fy, fx) / 0.5 * n_bins).astype(int), n_bins - 1)
    out = []
    for a in (g - g.mean(), r):
        p = np.log(np.abs(np.fft.rfft2(a)) ** 2 + 1e-10)
        out.append(np.bincount(b.ravel(), p.ravel(), n_bins) / np.maximum(np.bincount(b.ravel(), None, n_bins), 1))
    return np.concatenate(out).astype(np.float32)


_MODELS = {}
def extractor(feature: str):
    "batch-of-PIL -> feature rows, for `feature` in ('probe', 'npr', 'spectrum')."
    import torch
    if feature == 'spectrum': return lambda ims: np.stack([radial_spectrum(im) for im in ims])
    from artifact_fastai.probe import feature_probe, PROBE_ARCHS
    if feature not in _MODELS: _MODELS[feature] = feature_probe(PROBE_ARCHS if feature == 'probe' else ('efficientnet_lite0',))
    model = _MODELS[feature]
    def fn(ims):
        x = normalised(ims)
        if feature == 'npr': x = NPR_GAIN * npr_residual(x)
        with torch.inference_mode(): return model.features(x.contiguous(memory_format=torch.channels_last)).numpy()
    return fn


def features(feature: str, set_name: str, bs: int = 16) -> np.ndarray:
    "Cached features `feature` of image set `set_name`."
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE/f'{feature}_{set_name}.npy'
    if f.is_file(): return np.load(f)
    t0 = time.perf_counter()
    ims, fn = image_set(set_name), extractor(feature)
    X = np.concatenate([fn(ims[s:s + bs]) for s in range(0, len(ims), bs)]).astype(np.float32)
    np.save(f, X)
    print(f'  {feature}_{set_name}: {X.shape} in {time.perf_counter() - t0:.0f} s', flush=True)
    return X


if __name__ == '__main__':
    import sys, torch
    torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '1')))
    for arg in sys.argv[1:]:
        feature, set_name = arg.split(':')
        features(feature, set_name)

"Scale handling (issue 18): the training scale travels in config.json, inputs are brought to it, old folders are scored as before."
import json

import numpy as np
import torch
from PIL import Image

from artifact_fastai.core import DetectorConfig
from artifact_fastai.detector import Detector, build_classifier, load_classifier, write_weights, rescale_to_side


def _folder(tmp_path, extra: dict):
    "A random-weight resnet18 classifier folder (32 px, native resize) with `extra` in its config."
    cfg = DetectorConfig(arch='resnet18', img_size=32, resize='native', extra={'n_out': 2, 'model_kwargs': {}, **extra})
    torch.manual_seed(0); net = build_classifier(cfg).eval()
    folder = tmp_path/('scaled' if extra else 'old'); folder.mkdir()
    cfg.extra['weights_sha256'] = write_weights(net.state_dict(), folder); cfg.to_json(folder/'config.json')
    return folder


def _images(n=4, side=64):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (side, side + 16, 3), dtype=np.uint8)) for _ in range(n)]


def test_old_folder_scores_as_before(tmp_path):
    "A folder without `extra['scale']` keeps the native centre crop: the same pixels as the resize pipeline alone."
    det = load_classifier(_folder(tmp_path, {}))
    assert det.scale_side is None
    img = _images(1)[0]
    crop = img.crop((24, 16, 56, 48))  # the centre 32 x 32 of an 80 x 64 image
    assert torch.equal(det.transform(img), torch.from_numpy(np.array(crop)).permute(2, 0, 1))


def test_scale_record_round_trip_and_rescaling(tmp_path):
    "The recorded side survives save/load, and an input is resized (aspect kept) to it before the centre crop."
    folder = _folder(tmp_path, {'scale': {'side': 32, 'basis': 'test'}})
    assert json.loads((folder/'config.json').read_text())['extra']['scale']['side'] == 32
    det = load_classifier(folder)
    assert det.scale_side == 32
    img = _images(1)[0]
    want = rescale_to_side(img, 32)
    assert want.size == (40, 32)
    assert torch.equal(det.transform(img), torch.from_numpy(np.array(want.crop((4, 0, 36, 32)))).permute(2, 0, 1))


def test_roi_models_are_not_rescaled():
    "A face-ROI model is not rescaled as a whole image: its face crop goes through the item transforms as in training."
    cfg = DetectorConfig(arch='resnet18', img_size=32, resize='squish', roi={'backend': 'haar', 'cache_dir': False},
                         extra={'scale': {'side': 32}, 'n_out': 2, 'model_kwargs': {}})
    det = Detector(cfg, build_classifier(cfg))
    assert det.roi is not None and det.scale_side is None

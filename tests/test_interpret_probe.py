"Heatmaps of the feature probe (issue 19): the exact pooled-statistics CAM and the pointing game of a probe detector."
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from artifact_fastai.core import ARTIFACT, CLEAN, DetectorConfig
from artifact_fastai.detector import Detector
from artifact_fastai.interpret import GradCAMInterpretation, pointing_game
from artifact_fastai.probe import feature_probe, probe_contributions, score_weights, FeatureProbe, PooledBody, FeatureChannels

warnings.filterwarnings('ignore', category=FutureWarning)


@pytest.fixture(scope='module')
def probe():
    try: return feature_probe(['efficientnet_lite0'])
    except ValueError as e: pytest.skip(f'no offline Lite0 weights: {e}')


def square_image(x0, y0, side=16, size=64):
    a = np.full((size, size, 3), 128, np.uint8); a[y0:y0 + side, x0:x0 + side] = 255
    return Image.fromarray(a)


def test_probe_cam_splits_the_logodds_exactly(probe):
    torch.manual_seed(0)
    with torch.no_grad(): probe.head.weight.normal_(0, 0.01); probe.head.bias.normal_()
    x = torch.randn(3, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(): lo = probe(x)
    _, c = score_weights(probe, [ARTIFACT] * 3)
    parts = probe_contributions(probe, x, [ARTIFACT] * 3)
    total = sum(p.sum((1, 2)) for p in parts) + c
    assert torch.allclose(total, lo[:, ARTIFACT] - lo[:, CLEAN], atol=1e-3 * float(lo.abs().max()) + 1e-4)
    clean = probe_contributions(probe, x, [CLEAN] * 3)
    assert all(torch.allclose(a, -b, atol=1e-6) for a, b in zip(parts, clean))


def test_pointing_game_of_a_probe_detector_hits_planted_boxes(probe):
    det = Detector(DetectorConfig(kind='probe', img_size=64, extra={'channels_last': True}), probe)
    x = lambda img: det.normalize(det.transform(img)[None])
    f0, f1 = probe.features(x(square_image(0, 0, side=0)))[0], probe.features(x(square_image(24, 8)))[0]
    with torch.no_grad():  # a head that scores the bright square: the feature difference square - grey
        probe.feature_mean.copy_(f0); probe.feature_std.fill_(1.); probe.head.weight.copy_(torch.stack([f1 - f0, f0 - f1]) / 2); probe.head.bias.zero_()
    spots = [(24, 8), (40, 40), (4, 30), (44, 4)]
    boxes = pd.DataFrame([dict(x=a, y=b, w=16, h=16) for a, b in spots], index=[f'image_{i}' for i in range(len(spots))])
    images, ref = [square_image(a, b) for a, b in spots], [square_image(0, 0, side=0)]
    interp = GradCAMInterpretation.from_detector(det, images, reference=ref)
    assert interp.method == 'cam' and interp.maps.shape == (4, 64, 64)
    assert (interp.prob_artifact > 0.5).all()
    pg = pointing_game(interp, boxes, tolerance=4)  # on the square or on its edge (one stride-4 cell)
    assert pg.hit.mean() == 1.0 and pg.chance.round(4).tolist() == [round(24 * 24 / 64 ** 2, 4)] * 4
    away = pointing_game(GradCAMInterpretation.from_detector(det, images, reference=ref, target='clean'), boxes, tolerance=4)
    assert away.hit.sum() <= 1  # the Clean map is the Artifact map negated: its peak is away from the square (the image's edge
                                # next to the square at y 4 falls in the grown box)


class StrideChannels(FeatureChannels):
    "timm's `feature_info` for one level: 3 channels at stride 8."
    def reduction(self) -> list[int]: return [8]


class ShiftedBoxes(torch.nn.Module):
    "Stride-8 box-filter cells over the input moved down and right by `d` px: cell i sees pixels 8i - d ... 8i - d + 7, not 8i."
    def __init__(self, d: int):
        super().__init__(); self.d, self.feature_info = d, StrideChannels([3])
    def forward(self, x):
        return [torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (self.d, 0, self.d, 0))[..., :x.shape[-2], :x.shape[-1]], 8)]


def test_probe_map_places_each_view_where_its_cells_look():
    model = FeatureProbe([PooledBody(ShiftedBoxes(12), [0])], flip=True)
    with torch.no_grad():  # log-odds = sum of the three channel means: a bright square scores
        model.head.weight.zero_(); model.head.weight[ARTIFACT, :3] = 0.5; model.head.weight[CLEAN, :3] = -0.5; model.head.bias.zero_()
    det = Detector(DetectorConfig(kind='probe', img_size=64, extra={'channels_last': True}), model)
    spots = [(20, 28), (36, 12), (4, 44), (44, 4)]  # 8-px squares, each filling one cell (x0 = 8i - 12) in both views
    boxes = pd.DataFrame([dict(x=a, y=b, w=8, h=8) for a, b in spots], index=[f'image_{i}' for i in range(len(spots))])
    images = [square_image(a, b, side=8) for a, b in spots]
    interp = GradCAMInterpretation.from_detector(det, images, reference=[square_image(0, 0, side=0)])
    assert pointing_game(interp, boxes).hit.all()  # strict: the peak lies inside the 8-px square
    assert torch.allclose(interp.cam_offset, torch.tensor([[[-8.5, -8.5]]], dtype=interp.cam_offset.dtype), atol=1e-4)
    alone = GradCAMInterpretation.from_detector(det, images)  # no reference: offsets measured on the images themselves
    assert pointing_game(alone, boxes).hit.all()
    alone.cam_offset, alone._maps = torch.zeros(1, 1, 2), {}  # cells at stride * index: 8.5 px off
    assert not pointing_game(alone, boxes).hit.any()

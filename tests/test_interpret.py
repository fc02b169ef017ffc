"GradCAM contracts: target layers per family, map shape and range, hook removal and mode restoration after an exception, ROI geometry, saved files, detector round trip, and maps that point at known defects."
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from PIL import Image
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.vision.augment import Resize, ResizeMethod, RandomCrop
from fastai.vision.core import PILImage
from fastai.vision.learner import create_timm_model, vision_learner

from artifact_fastai.core import ARTIFACT, VOCAB
from artifact_fastai.data import artifact_dataloaders
from artifact_fastai.roi import FaceCrop, FaceDetector
from artifact_fastai.synth import artifact_regions, make_synthetic_dataset
from artifact_fastai.interpret import (GradCAMInterpretation, cam_extractor, compute_cams, find_target_layer, pointing_game,
                                       resize_spec, resolve_target_layer, top_mask, unwarp_map)


def fastai_model(arch):
    return create_timm_model(arch, 2, pretrained=False)[0]

def n_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())

def modes(model): return {n: m.training for n, m in model.named_modules()}

class FixedFace(FaceDetector):
    "Always the same face: ROI geometry without a face model."
    backend = 'fixed'
    def __init__(self, box): super().__init__(); self.box = box
    def detect(self, arr): return [(*self.box, 1.0)]
    def settings(self): return {'backend': self.backend, 'box': list(self.box)}

def small_cnn(width=16):
    "Conv-BN-ReLU x3 (strides 1, 2, 2; 12x12 features at 48 px) and a max-pool head."
    block = lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
    return nn.Sequential(nn.Sequential(block(3, width, 1), block(width, 2*width, 2), block(2*width, 2*width, 2)),
                         nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(2*width, 2)))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "An untrained fastai learner (timm test_resnet, 2x2 feature map) on 64-px synthetic images."
    root = make_synthetic_dataset(tmp_path_factory.mktemp('tiny'), n=32, artifact_frac=0.5, size=64, seed=0, style='traces')
    dls = artifact_dataloaders(root, size=64, bs=8, check=False)
    torch.manual_seed(0)
    return root, vision_learner(dls, 'test_resnet', pretrained=False)

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A small CNN trained on checkerboard defects (inputs through the fastai pipeline, a plain loop for speed)."
    root = make_synthetic_dataset(tmp_path_factory.mktemp('checker'), n=200, artifact_frac=0.5, size=48, seed=0, style='traces',
                                  kinds=('checkerboard',))
    dls = artifact_dataloaders(root, size=48, bs=16, check=False)
    df = dls.split_df
    xs, ys = zip(*dls.test_dl(df[df.split == 'train'], with_labels=True))
    x, y = torch.cat(xs).as_subclass(torch.Tensor), torch.cat(ys).as_subclass(torch.Tensor)
    torch.manual_seed(0)
    model = small_cnn()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is as fast, and far faster on a shared machine
    try:
        for step in range(300):
            idx = torch.randint(len(x), (16,))
            xb = x[idx].flip(-1) if step % 2 else x[idx]
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            opt.zero_grad(); loss.backward(); opt.step()
    finally: torch.set_num_threads(threads)
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat())
    held_out = dls.test_dl(df[df.split != 'train'], with_labels=True)
    return root, GradCAMInterpretation.from_learner(learn, dl=held_out)


@pytest.mark.parametrize('arch,layer', [('test_resnet', '0.model.layer4'), ('test_efficientnet', '0.model.bn2'),
                                        ('test_convnext', '0.model.stages'), ('test_byobnet', '0.model.final_conv')])
def test_target_layer_per_family(arch, layer):
    assert find_target_layer(fastai_model(arch), (3, 64, 64)) == layer

def test_target_layer_by_name_or_module():
    m = fastai_model('test_resnet')
    assert resolve_target_layer(m, '0.model.layer3') == '0.model.layer3'
    assert resolve_target_layer(m, m[0].model.layer2) == '0.model.layer2'
    with pytest.raises(ValueError, match='not in model.named_modules'): resolve_target_layer(m, 'layer9')
    assert find_target_layer(small_cnn(), (3, 48, 48)) == '0'

@pytest.mark.parametrize('method', ['gradcam', 'gradcampp', 'layercam', 'scorecam', 'xgradcam'])
def test_maps_shape_and_range(method):
    m = fastai_model('test_resnet')  # Score-CAM: one forward pass per channel (96 here)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 40, 56)
    with cam_extractor(m, method) as ext: maps, logits = compute_cams(ext, x, [ARTIFACT, 1])
    assert maps.shape == (2, 40, 56) and maps.dtype == torch.float32
    assert maps.min() >= 0 and maps.max() <= 1 and torch.isfinite(maps).all()
    assert logits.shape == (2, 2)
    assert n_hooks(m) == 0

def test_hooks_removed_and_modes_restored_after_exception():
    m = fastai_model('test_resnet').train()
    m[0].model.layer1.eval()
    before, hooks = modes(m), n_hooks(m)
    with pytest.raises(RuntimeError, match='boom'):
        with cam_extractor(m, 'gradcam'):
            assert n_hooks(m) > hooks and not m.training
            raise RuntimeError('boom')
    assert n_hooks(m) == hooks
    assert modes(m) == before

def test_interpretation_cleans_up_when_a_batch_fails(tiny):
    _, learn = tiny
    interp = GradCAMInterpretation.from_learner(learn, bs=2)
    learn.model.train()  # as in the middle of training (fastai's get_preds leaves it in eval mode)
    before = modes(learn.model)
    calls = []
    real = interp.images.inputs
    def flaky(idxs):
        calls.append(idxs)
        if len(calls) == 2: raise OSError('disk gone')
        return real(idxs)
    interp.images.inputs = flaky
    with pytest.raises(OSError, match='disk gone'): interp.heatmaps([0, 1, 2, 3])
    assert n_hooks(learn.model) == 0 and modes(learn.model) == before
    assert sorted(interp._maps) == [0, 1]  # the first batch was kept
    interp.images.inputs = real
    maps = interp.maps
    assert maps.shape == (len(interp), 64, 64) and 0 <= maps.min() and maps.max() <= 1

def test_lazy_and_targets(tiny):
    _, learn = tiny
    interp = GradCAMInterpretation.from_learner(learn)
    assert len(interp._maps) == 0
    assert interp.heatmaps([3]).shape == (1, 64, 64) and list(interp._maps) == [3]
    assert (interp.classes == ARTIFACT).all()
    pred = GradCAMInterpretation.from_learner(learn, target='predicted')
    assert torch.equal(pred.classes, pred.probs.argmax(1))
    assert not torch.allclose(GradCAMInterpretation.from_learner(learn, target='clean').heatmaps([0, 1, 2]), interp.heatmaps([0, 1, 2]))
    with pytest.raises(ValueError, match='not one of'): GradCAMInterpretation.from_learner(learn, method='saliency')

@pytest.mark.parametrize('tfm', [Resize(32, ResizeMethod.Squish), Resize(32, ResizeMethod.Crop),
                                 Resize(32, ResizeMethod.Pad, pad_mode='zeros'), RandomCrop(48)], ids=['squish', 'crop', 'pad', 'native'])
def test_unwarp_inverts_fastai_resize(tfm):
    arr = np.zeros((60, 100), np.uint8); arr[20:30, 40:55] = 255
    seen = np.asarray(tfm(PILImage.create(arr), split_idx=1), dtype=np.float32)/255
    back = unwarp_map(seen, (100, 60), *resize_spec([tfm]))
    ys, xs = np.nonzero(back > 0.5)
    np.testing.assert_allclose([xs.min(), xs.max(), ys.min(), ys.max()], [40, 54, 20, 29], atol=2.5)

def test_save_full_frame(tiny, tmp_path):
    root, learn = tiny
    interp = GradCAMInterpretation.from_learner(learn)
    paths = interp.save(tmp_path/'gradcam_outputs')
    names = [f"{i:04d}_{n.split('/')[-1].rsplit('.', 1)[0]}.png" for i, n in enumerate(interp.names)]
    assert [p.name for p in paths] == names
    assert all(Image.open(p).size == (128, 64) for p in paths)  # 64-px original + overlay
    csv = pd.read_csv(tmp_path/'gradcam_outputs'/'gradcam.csv')
    assert list(csv.file) == names and set(csv.label) <= set(VOCAB)
    assert not (tmp_path/'gradcam_outputs_roi').exists()
    big = interp.save(tmp_path/'small', idxs=[0], max_side=16)
    assert Image.open(big[0]).size == (32, 16)

def test_roi_maps_land_on_the_crop(tmp_path):
    root = make_synthetic_dataset(tmp_path/'d', n=16, artifact_frac=0.5, size=64, seed=2, style='traces')
    crop = FaceCrop(backend=FixedFace((20, 4, 40, 40)), margin=0.0, cache_dir=False)  # crop box (20, 4, 60, 44)
    dls = artifact_dataloaders(root, size=40, bs=4, roi=crop, check=False)
    interp = GradCAMInterpretation.from_learner(vision_learner(dls, 'test_resnet', pretrained=False))
    assert interp.images.crop_box(0) == (20, 4, 60, 44)
    planted = torch.zeros(40, 40); planted[5:10, 20:25] = 1.0  # a 5x5 hot square at input x 20-24, y 5-9
    interp._maps[0] = planted
    full = interp.original_map(0)
    ys, xs = np.nonzero(full > 0.5)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (40, 44, 9, 13)  # same size input and crop: a pure shift
    assert full[:, :20].max() == 0 and full[:, 60:].max() == 0 and full[:4].max() == 0 and full[44:].max() == 0
    paths = interp.save(tmp_path/'gradcam_outputs', idxs=[0, 1])
    assert [p.parent.name for p in paths] == ['gradcam_outputs', 'gradcam_outputs_roi'] * 2
    assert [Image.open(p).size for p in paths[:2]] == [(80, 40), (128, 64)]

def test_detector_round_trip(tiny, tmp_path):
    learner = pytest.importorskip('artifact_fastai.learner')
    root, learn = tiny
    from artifact_fastai.kinds import load_detector
    det = load_detector(learner.save_detector(learn, tmp_path/'model'))
    items = learn.dls.valid.items
    files = [root/p for p in items.path]
    (tmp_path/'broken.png').write_bytes(b'not a png')
    with pytest.warns(UserWarning, match='1 item'):
        dinterp = GradCAMInterpretation.from_detector(det, files + [tmp_path/'broken.png'], labels=list(items.label) + [0])
    interp = GradCAMInterpretation.from_learner(learn)
    assert len(dinterp) == len(files) and dinterp.errors[0][0].endswith('broken.png')
    np.testing.assert_allclose(dinterp.prob_artifact, interp.prob_artifact, atol=1e-5)
    torch.testing.assert_close(dinterp.maps, interp.maps, atol=1e-4, rtol=0)
    torch.testing.assert_close(dinterp.losses, interp.losses, atol=1e-4, rtol=0)
    paths = dinterp.save(tmp_path/'out', idxs=[0])
    assert paths[0].name == f"0000_{files[0].stem}.png"

def test_detector_of_other_kinds_is_refused():
    class Fake:
        config = type('C', (), {'kind': 'anomaly'})()
        model, transform, normalize = nn.Identity(), None, None
    with pytest.raises(ValueError, match='anomaly'): GradCAMInterpretation.from_detector(Fake(), [])

def test_maps_point_at_the_defect(trained):
    root, interp = trained
    acc = float((interp.probs.argmax(1) == interp.targs).float().mean())
    assert acc >= 0.75, acc
    pg = pointing_game(interp, artifact_regions(root))
    assert len(pg) == int((interp.targs == ARTIFACT).sum()) >= 25
    chance = pg.chance.mean()
    assert 0.05 < chance < 0.25
    assert pg.hit.mean() >= max(0.6, 3*chance), (pg.hit.mean(), chance)

def test_faithfulness_beats_random(trained):
    _, interp = trained
    f = interp.faithfulness(q=0.1, baseline='blur', n_random=3)
    assert f.n_images >= 10 and len(f.details) == f.n_images
    assert f.drop_cam > f.drop_random + 0.1, str(f)
    assert f.difference == pytest.approx(f.drop_cam - f.drop_random)
    assert f.win_rate > 0.5
    assert set(f.to_dict()) >= {'drop_cam', 'drop_random', 'difference', 'ratio', 'avg_drop_cam', 'win_rate'}

def test_top_mask_and_bad_arguments():
    m = torch.arange(16.).view(1, 4, 4)
    assert top_mask(m, 0.25).flatten().nonzero().flatten().tolist() == [12, 13, 14, 15]
    with pytest.raises(ValueError, match='between 0 and 1'): top_mask(m, 1.5)


class SpotNet(nn.Module):
    "Box filters down to stride 32 (`pool`: five symmetric-padded stride-2 convolutions, or one 32-px average pool), max-pooled to two logits."
    def __init__(self, patchify: bool = False):
        super().__init__()
        convs = [nn.Conv2d(3 if k == 0 else 1, 1, 3, stride=2, padding=1, bias=False) for k in range(5)]
        for c in convs: nn.init.constant_(c.weight, 1 / c.weight.numel())
        self.pool = nn.Sequential(nn.Conv2d(3, 1, 1, bias=False), nn.AvgPool2d(32)) if patchify else nn.Sequential(*convs)
        if patchify: nn.init.constant_(self.pool[0].weight, 1 / 3)
    def forward(self, x): a = self.pool(x).amax((1, 2, 3)); return torch.stack([a, -a], 1)


@pytest.mark.parametrize('patchify, centre', [(False, (32, 64)), (True, (47, 79))])
def test_cam_peaks_on_the_centre_of_the_lit_cell(patchify, centre):
    "A spot at (y 40, x 72) lights stride-32 cell (1, 2): the map peaks on its receptive field's centre, (32, 64) for symmetric padding."
    from artifact_fastai.interpret import cell_offset
    net, spot = SpotNet(patchify), torch.zeros(1, 3, 128, 128)
    spot[..., 38:43, 70:75] = 1.
    sy, sx, oy, ox = cell_offset(net, 'pool')
    assert (sy, sx) == (32, 32) and abs(oy - (15.5 if patchify else 0)) < 0.6 and abs(ox - (15.5 if patchify else 0)) < 0.6
    with cam_extractor(net, 'gradcam', 'pool') as ext: cam, _ = compute_cams(ext, spot, [ARTIFACT])
    assert divmod(int(cam[0].argmax()), 128) == centre  # F.interpolate(align_corners=False) put it at (47, 79) for both


@pytest.mark.parametrize('arch, offset', [('test_efficientnet', 0.), ('test_resnet', 14.), ('test_convnext', 15.5)])
def test_cell_offset_of_timm_families(arch, offset):
    "Symmetric padding (EfficientNet) puts a stride-32 cell i on pixel 32 i; average-pool shortcuts (test_resnet) and a patchify stem (ConvNeXt) near 32 i + 15.5."
    from artifact_fastai.interpret import cell_offset
    torch.manual_seed(0)
    m = fastai_model(arch)
    sy, sx, oy, ox = cell_offset(m, find_target_layer(m))
    assert (sy, sx) == (32, 32) and abs(oy - offset) < 2.5 and abs(ox - offset) < 2.5, (oy, ox)

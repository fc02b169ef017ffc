"Contracts of artifact_fastai.clip on a tiny random CLIP: frozen encoder, fastai training, save/load, offline weights."
import json, warnings

import numpy as np
import pytest
import torch
from PIL import Image

from artifact_fastai.core import ARTIFACT
from artifact_fastai.data import artifact_dataloaders
from artifact_fastai.learner import save_detector
from artifact_fastai.detector import Detector
from artifact_fastai.kinds import load_detector
from artifact_fastai.clip import (TINY_CLIP, CLIPWeightsError, create_clip, clip_learner, resolve_clip_weights,
                                  zero_shot_detector, save_zero_shot, zero_shot_head, clip_tokenizer)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    "Offline, with an empty hub cache; any download attempt fails the test."
    def refuse(*args, **kwargs): raise AssertionError('network access attempted')
    import huggingface_hub, open_clip.pretrained as pretrained
    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', refuse)
    monkeypatch.setattr(pretrained, 'hf_hub_download', refuse, raising=False)
    monkeypatch.setattr(pretrained, 'download_pretrained_from_url', refuse)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path/'hf_cache'))


@pytest.fixture(scope='module')
def dls32(tmp_path_factory):
    from artifact_fastai.synth import make_synthetic_dataset
    root = make_synthetic_dataset(tmp_path_factory.mktemp('clip_synth'), n=60, artifact_frac=0.5, size=32, seed=0, style='traces')
    return artifact_dataloaders(root, size=32, bs=8)


def _tiny_learner(dls, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return clip_learner(dls, 'tiny', pretrained=None, model_cfg=TINY_CLIP, **kwargs)


def test_offline_without_weights_fails_fast_and_clearly():
    with pytest.raises(CLIPWeightsError, match='HF_HUB_OFFLINE=1') as e:
        create_clip('ViT-B-32', pretrained='openai')
    assert "pretrained='/path/to" in str(e.value)
    with pytest.raises(ValueError, match='not a pretrained tag'): resolve_clip_weights('ViT-B-32', 'nonsense')
    with pytest.raises(FileNotFoundError): resolve_clip_weights('ViT-B-32', '/no/such/file.bin')


def test_cached_tag_is_found_without_network(tmp_path):
    "A tag whose file is in the hub cache resolves to that file (what an earlier online run leaves behind)."
    import open_clip
    repo = open_clip.get_pretrained_cfg('ViT-B-32', 'openai')['hf_hub'].rstrip('/')
    snap = tmp_path/'hf_cache'/f"models--{repo.replace('/', '--')}"/'snapshots'/('b' * 40)
    snap.mkdir(parents=True)
    (snap.parent.parent/'refs').mkdir(); (snap.parent.parent/'refs'/'main').write_text('b' * 40)
    (snap/'open_clip_model.safetensors').write_bytes(b'x')
    where, source = resolve_clip_weights('ViT-B-32', 'openai')
    assert where.endswith('open_clip_model.safetensors') and source.startswith('hub cache')


def test_local_weight_file_loads_strictly(tmp_path):
    clip, _, _ = create_clip('tiny', pretrained=None, model_cfg=TINY_CLIP)
    torch.save(clip.state_dict(), tmp_path/'tiny.bin')
    clip2, _, source = create_clip('tiny', pretrained=str(tmp_path/'tiny.bin'), model_cfg=TINY_CLIP)
    assert source.startswith('file ')
    for (k, a), b in zip(clip.state_dict().items(), clip2.state_dict().values()): assert torch.equal(a, b), k
    with pytest.raises(ValueError, match='does not fit'):
        create_clip('tiny', pretrained=str(tmp_path/'tiny.bin'), model_cfg={**TINY_CLIP, 'embed_dim': 16})


def test_probe_trains_only_the_head(dls32):
    learn = _tiny_learner(dls32)
    enc = {k: v.clone() for k, v in learn.model.encoder.state_dict().items()}
    head = learn.model.head.weight.clone()
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, freeze_epochs=1, base_lr=1e-2)
    for k, v in learn.model.encoder.state_dict().items(): assert torch.equal(v, enc[k]), k
    assert not torch.equal(learn.model.head.weight, head)
    assert not learn.model.encoder.training
    assert learn.recorder.metric_names[3:-1] == ['accuracy', 'precision_artifact', 'recall_artifact', 'f1_artifact', 'roc_auc']


def test_probe_learns_a_linearly_separable_signal(tmp_path):
    "A random encoder still carries brightness; the head must learn 'Artifact = brighter' through fastai."
    from fastai.vision.data import ImageDataLoaders, imagenet_stats
    from fastai.vision.augment import Resize
    from fastai.data.transforms import Normalize
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(0)
    names, labels = [], []
    for i in range(120):
        label = ['Artifact', 'Clean'][i % 2]
        img = rng.random((32, 32, 3)) * 0.5 + (0.5 if label == 'Artifact' else 0.0)
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path/f'{i}.png')
        names.append(tmp_path/f'{i}.png'); labels.append(label)
    dls = ImageDataLoaders.from_lists(tmp_path, names, labels, valid_pct=0.25, seed=0, item_tfms=Resize(32), bs=16,
                                      batch_tfms=Normalize.from_stats(*imagenet_stats))
    assert list(dls.vocab) == ['Artifact', 'Clean']
    learn = _tiny_learner(dls, head_init='random', loss='ce')
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(6, 5e-2)
    probs, targs = learn.get_preds()
    assert roc_auc_score(targs.numpy() == ARTIFACT, probs[:, ARTIFACT].numpy()) > 0.9


def test_save_load_round_trip(dls32, tmp_path):
    learn = _tiny_learner(dls32)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    folder = save_detector(learn, tmp_path/'clip')
    cfg = json.loads((folder/'config.json').read_text())
    assert cfg['kind'] == 'clip' and cfg['arch'] == 'clip:tiny' and cfg['extra']['clip_cfg'] == TINY_CLIP
    det = load_detector(folder)
    assert isinstance(det, Detector) and type(det.model).__name__ == 'CLIPProbe'
    preds, _ = learn.get_preds()
    val = dls32.split_df[dls32.split_df.split == 'val']
    root = dls32.data_root
    out = det.predict([root/p for p in val.path], bs=5, progress=False)
    np.testing.assert_allclose(out.prob_artifact.to_numpy(), preds[:, ARTIFACT].numpy(), atol=1e-5)
    # a config for another encoder size does not load these weights
    cfg['extra']['clip_cfg']['vision_cfg']['width'] = 96
    (folder/'config.json').write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match='do not fit the network'): load_detector(folder)


def test_zero_shot_head_is_clip_zero_shot_classifier(dls32):
    clip, cfg, _ = create_clip('tiny', pretrained=None, model_cfg=TINY_CLIP)
    tok = clip_tokenizer('tiny', cfg)
    w, b = zero_shot_head(clip, tok, ['fake'], ['real'])
    img = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        f = torch.nn.functional.normalize(clip.encode_image(img), dim=-1)
        t = torch.nn.functional.normalize(clip.encode_text(tok(['fake', 'real'])), dim=-1)
        torch.testing.assert_close(f @ w.T + b, clip.logit_scale.exp() * f @ t.T, rtol=1e-4, atol=1e-4)


def test_zero_shot_detector_saves_and_loads(tmp_path, dls32):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        zs = zero_shot_detector('tiny', pretrained=None, model_cfg=TINY_CLIP)
    imgs = [Image.fromarray((np.random.default_rng(i).random((40, 50, 3)) * 255).astype(np.uint8)) for i in range(4)]
    p = zs.predict_proba(imgs)
    assert p.shape == (4,) and np.all((p >= 0) & (p <= 1))
    back = load_detector(save_zero_shot(zs, tmp_path/'zs'))
    np.testing.assert_allclose(back.predict_proba(imgs), p, atol=1e-6)
    with pytest.raises(FileExistsError): save_zero_shot(zs, tmp_path/'zs')

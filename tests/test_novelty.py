"Photographs-only NPR novelty and the either rule (issue 18): `novelty.KnnNovelty`, `EitherProbe`, kind and recipe `probe_novelty`."
import json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

os.environ.setdefault('HF_HUB_OFFLINE', '1')
from artifact_fastai.augment import npr_residual, transform_input
from artifact_fastai.data import read_splits
from artifact_fastai.kinds import load_detector
from artifact_fastai.metrics import binary_metrics
from artifact_fastai.novelty import KnnNovelty, EitherProbe, photo_rank, novelty_parts, train_novelty_probe
from artifact_fastai.recipes import get_recipe, train_probe_recipe


def toy_generators(root: Path, n: int = 30, side: int = 64) -> Path:
    "Real images (smooth + sensor noise) and two 'generators' (nearest-neighbour upsampling by 4 and 2, no noise)."
    rng, rows = np.random.default_rng(0), []
    for kind, block in (('real', None), ('gen_a', 4), ('gen_b', 2)):
        (root/kind).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if block is None:
                im = Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
                a = np.clip(np.asarray(im, float) + rng.normal(0, 6, (side, side, 3)), 0, 255).astype(np.uint8)
            else:
                small = Image.fromarray(rng.integers(0, 255, (side // block, side // block, 3), dtype=np.uint8))
                a = np.asarray(small.resize((side, side), Image.Resampling.NEAREST))
            Image.fromarray(a).save(root/kind/f'{i}.png'); rows.append((f'{kind}/{i}.png', int(block is None), kind))
    pd.DataFrame(rows, columns=['image', 'label', 'generator']).to_csv(root/'labels.csv', index=False)
    return root


def test_npr_zero_on_nearest_upsampled_and_not_on_noise():
    up = torch.rand(1, 3, 8, 8).repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert npr_residual(up).abs().max() == 0
    assert npr_residual(torch.rand(1, 3, 16, 16)).abs().mean() > 0.1
    torch.testing.assert_close(transform_input(up + 1, {'name': 'npr', 'gain': 3.0}), torch.zeros_like(up))


def test_knn_novelty_distances():
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    nv = KnnNovelty.from_features(X, k=1)
    assert nv(torch.from_numpy(X)).abs().max() < 1e-3  # every bank row is its own nearest neighbour
    far = nv(torch.from_numpy(X[:3] + 10 * X.std(0)))
    assert (far > 50).all()


def test_either_rule_takes_the_higher_rank():
    e = EitherProbe(torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity(), [0.1, 0.2, 0.3, 0.4], [1., 2., 3., 4.], power=1.0)
    torch.testing.assert_close(e.union_score([0.05, 0.35, 0.05], [0.5, 0.5, 3.5]), torch.tensor([0., 0.75, 0.75]))
    torch.testing.assert_close(photo_rank(torch.tensor([2.]), torch.tensor([1., 2., 3.])), torch.tensor([0.5]))


@pytest.fixture(scope='module')
def toy_table(tmp_path_factory):
    return read_splits(toy_generators(tmp_path_factory.mktemp('gen')/'toy'), seed=0, layout='csv')


def test_novelty_separates_an_upsampling_generator_from_photographs(toy_table):
    from artifact_fastai.probe import probe_dataloaders
    dls = probe_dataloaders(toy_table, size=64, check=False)
    _, novelty, X, split = novelty_parts(dls, k=3)
    test = split == 'test'
    y = toy_table.label.to_numpy(int)[test]
    with torch.no_grad(): d = novelty(torch.from_numpy(X[test])).numpy()
    assert binary_metrics(y, d / d.max(), 0.5)['auc'] > 0.95  # photographs only in the bank, yet generated images are far


def test_probe_novelty_recipe_round_trip(toy_table, tmp_path):
    rec = get_recipe('probe_novelty', archs=('efficientnet_lite0',), size=64, epochs=10, novelty_k=3)
    _, metrics, t = train_probe_recipe(toy_table, rec, out=tmp_path/'nv', check=False)
    det = load_detector(tmp_path/'nv')
    assert det.config.kind == 'probe_novelty' and type(det.model).__name__ == 'EitherProbe'
    root, test = Path(toy_table.attrs['root']), toy_table[toy_table.split == 'test']
    p = det.predict_proba([Image.open(root/q).convert('RGB') for q in test.path])
    assert abs(binary_metrics(test.label.to_numpy(int), p, float(t))['auc'] - metrics['test_auc']) < 1e-3
    assert metrics['test_auc'] > 0.9


LOAD_ALONE = """
import json, sys
import numpy as np
from PIL import Image
from artifact_fastai.kinds import load_detector
det = load_detector(sys.argv[1])
p = det.predict_proba([Image.open(q).convert('RGB') for q in sys.argv[2:]])
loaded = sorted(m for m in sys.modules if m.startswith('artifact_fastai.'))
print(json.dumps({'p': np.asarray(p, float).tolist(), 'modules': loaded, 'kind': det.config.kind}))
"""


def test_probe_novelty_folder_loads_through_kinds_alone(toy_table, tmp_path):
    "A fresh process that imports only `artifact_fastai.kinds` opens and scores the folder: no training module is needed."
    model, metrics, t = train_novelty_probe(toy_table, k=3, archs=('efficientnet_lite0',), size=64, epochs=10,
                                            out=tmp_path/'nv', check=False, seed=0)
    root, test = Path(toy_table.attrs['root']), toy_table[toy_table.split == 'test']
    paths = [str(root/q) for q in test.path]
    here = load_detector(tmp_path/'nv').predict_proba([Image.open(q).convert('RGB') for q in paths])
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get('PYTHONPATH', '')])}
    run = subprocess.run([sys.executable, '-c', LOAD_ALONE, str(tmp_path/'nv'), *paths], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out['kind'] == 'probe_novelty'
    assert not {'artifact_fastai.recipes', 'artifact_fastai.experiment', 'artifact_fastai.cli'} & set(out['modules']), out['modules']
    np.testing.assert_allclose(out['p'], here, atol=1e-5)
    assert abs(binary_metrics(test.label.to_numpy(int), np.array(out['p']), float(t))['auc'] - metrics['test_auc']) < 1e-3

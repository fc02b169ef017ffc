"""Two CPU processes (torchrun, gloo) train one detector: both finish, agree on the validation metrics and the weights,
and exactly one model folder is written, holding the weights both ranks evaluated."""
import json, os, subprocess
from pathlib import Path

import pandas as pd
import pytest

from artifact_fastai.distributed import free_port, launch_command, state_checksum


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory):
    "Train for one epoch with 2 CPU processes on a 60-image, 32-pixel synthetic dataset; the run folder and the result."
    from artifact_fastai.synth import make_synthetic_dataset
    tmp = tmp_path_factory.mktemp('distributed')
    root = make_synthetic_dataset(tmp/'data', n=60, artifact_frac=0.3, size=32, seed=0, style='traces')
    argv = ['--data', root, '--arch', 'resnet18', '--size', 32, '--bs', 8, '--epochs', 1, '--cpu', '--quiet',
            '--out', tmp/'models', '--metrics-dir', tmp/'ranks']
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'CUDA_VISIBLE_DEVICES': ''}
    res = subprocess.run(launch_command(argv, nproc_per_node=2, port=free_port()), capture_output=True, text=True,
                         env=env, timeout=600)
    return root, tmp, res


def test_both_ranks_finish(two_rank_run):
    root, tmp, res = two_rank_run
    assert res.returncode == 0, f"torchrun failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}"
    ranks = sorted(p.name for p in (tmp/'ranks').iterdir())
    assert ranks == ['rank_0.json', 'rank_1.json']
    assert '2 process(es), gloo: saved' in res.stdout  # rank 0's summary line, printed once
    assert res.stdout.count('saved ') == 1


def test_ranks_agree_on_validation(two_rank_run):
    root, tmp, res = two_rank_run
    r0, r1 = (json.loads((tmp/'ranks'/f'rank_{r}.json').read_text()) for r in (0, 1))
    assert (r0['rank'], r1['rank']) == (0, 1)
    assert r0['world_size'] == r1['world_size'] == 2 and r0['backend'] == r1['backend'] == 'gloo'
    n_val = len(pd.read_csv(root/'val.csv'))
    assert r0['n_val'] == r1['n_val'] == n_val  # gathered over both ranks, padding dropped
    assert r0['metrics'] == r1['metrics']
    assert (r0['threshold'], r0['threshold_source']) == (r1['threshold'], r1['threshold_source'])
    assert r0['recorder'] == r1['recorder']
    assert r0['model_checksum'] == r1['model_checksum']  # same weights and batch-norm statistics on both ranks
    m = r0['metrics']
    assert m['tp'] + m['fp'] + m['fn'] + m['tn'] == n_val
    assert m['tp'] + m['fn'] == int((pd.read_csv(root/'val.csv').label == 0).sum())


def test_exactly_one_model_folder(two_rank_run):
    root, tmp, res = two_rank_run
    folders = list((tmp/'models').iterdir())
    assert [f.name for f in folders] == ['resnet18']
    assert sorted(f.name for f in folders[0].iterdir()) == ['config.json', 'model.safetensors']
    r0, r1 = (json.loads((tmp/'ranks'/f'rank_{r}.json').read_text()) for r in (0, 1))
    assert r0['model_dir'] == str(folders[0]) and 'model_dir' not in r1  # only rank 0 saved
    from safetensors.torch import load_file
    assert state_checksum(load_file(str(folders[0]/'model.safetensors'))) == r0['model_checksum']
    cfg = json.loads((folders[0]/'config.json').read_text())
    assert cfg['threshold'] == pytest.approx(r0['threshold']) and cfg['threshold_source'] == 'val:max_f1'
    assert cfg['img_size'] == 32 and cfg['arch'] == 'resnet18'

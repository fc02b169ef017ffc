"""The Makefile's install step: it refuses, with the reason and the fix, when the disk cannot hold the environment."""
import shutil, subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')
def test_install_refuses_early_when_the_disk_is_too_small(tmp_path):
    "Asking for more free disk than exists stops `make install` before pip runs, naming the space and VENV."
    for f in ('Makefile', 'pyproject.toml', 'constraints.txt'): shutil.copy(ROOT/f, tmp_path/f)
    venv = tmp_path/'.venv'
    r = subprocess.run(['make', '-C', str(tmp_path), 'install', f'VENV={venv}', 'MIN_FREE_GB=100000000'],
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert 'installing needs about 100000000 GB free disk' in out and 'VENV=' in out, out
    assert not (venv/'.installed').exists()
    assert not list(venv.glob('lib/python3*/site-packages/torch')), 'pip ran although the check failed'

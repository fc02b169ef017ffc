"Shared fixtures: a small synthetic dataset in the seed layout, made once per test session."
import os
from pathlib import Path

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')

SHARED_FACES = Path(__file__).resolve().parents[2]/'shared'/'data'/'faces140k-sample'


@pytest.fixture(scope='session')
def synth_root(tmp_path_factory) -> Path:
    "A 120-image synthetic dataset (1 Artifact : 9 Clean is too few Artifacts for some tests, so 30% here), 48 px."
    from artifact_fastai.synth import make_synthetic_dataset
    return make_synthetic_dataset(tmp_path_factory.mktemp('synth'), n=120, artifact_frac=0.3, size=48, seed=0, style='traces')


@pytest.fixture(scope='session')
def faces_root() -> Path:
    "The shared real face sample, or skip when it is absent (as on a user's machine)."
    if not (SHARED_FACES/'labels.csv').is_file(): pytest.skip(f'shared face sample not found at {SHARED_FACES}')
    return SHARED_FACES

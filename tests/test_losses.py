"Contracts of artifact_fastai.losses: focal loss against cross-entropy, alpha weighting, fastai conventions."
import pickle

import pytest
import torch
import torch.nn.functional as F
from fastai.losses import CrossEntropyLossFlat

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.losses import FocalLoss, FocalLossFlat, class_weights


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 2, generator=g) * 4, torch.randint(0, 2, (64,), generator=g)


def test_focal_equals_cross_entropy_at_gamma_zero(batch):
    logits, targ = batch
    for reduction in ('mean', 'sum', 'none'):
        torch.testing.assert_close(FocalLoss(gamma=0, reduction=reduction)(logits, targ),
                                   F.cross_entropy(logits, targ, reduction=reduction))
    torch.testing.assert_close(FocalLossFlat(gamma=0)(logits, targ), CrossEntropyLossFlat()(logits, targ))


def test_focal_gradient_equals_cross_entropy_at_gamma_zero(batch):
    logits, targ = batch
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    FocalLoss(gamma=0)(a, targ).backward(); F.cross_entropy(b, targ).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_focal_is_modulated_cross_entropy(batch):
    logits, targ = batch
    ce = F.cross_entropy(logits, targ, reduction='none')
    p_t = torch.exp(-ce)
    torch.testing.assert_close(FocalLoss(gamma=2, reduction='none')(logits, targ), (1 - p_t) ** 2 * ce)
    assert (FocalLoss(gamma=2, reduction='none')(logits, targ) <= ce + 1e-6).all()


def test_alpha_weights_each_example_by_its_true_class(batch):
    logits, targ = batch
    base = FocalLoss(gamma=2, reduction='none')(logits, targ)
    # single number: weight of the Artifact class (index 0); Clean gets 1 - alpha
    got = FocalLoss(gamma=2, alpha=0.75, reduction='none')(logits, targ)
    torch.testing.assert_close(got, base * torch.where(targ == ARTIFACT, 0.75, 0.25))
    # one weight per class index
    got = FocalLoss(gamma=2, alpha=[2., 5.], reduction='none')(logits, targ)
    torch.testing.assert_close(got, base * torch.where(targ == CLEAN, 5., 2.))
    # mean reduction averages over the N examples (paper form), not over the sum of weights
    torch.testing.assert_close(FocalLoss(gamma=2, alpha=[2., 5.])(logits, targ),
                               (base * torch.where(targ == CLEAN, 5., 2.)).mean())
    # at gamma=0 with alpha and no reduction: weighted cross-entropy
    torch.testing.assert_close(FocalLoss(gamma=0, alpha=[2., 5.], reduction='none')(logits, targ),
                               F.cross_entropy(logits, targ, weight=torch.tensor([2., 5.]), reduction='none'))


def test_class_weights_validation():
    assert class_weights(None) is None
    torch.testing.assert_close(class_weights(0.25), torch.tensor([0.25, 0.75]))
    with pytest.raises(ValueError, match='in \\[0, 1\\]'): class_weights(-0.1)
    with pytest.raises(ValueError, match='2 classes'): class_weights(0.5, n_classes=3)
    with pytest.raises(ValueError, match='non-negative'): class_weights([1., -1.])
    with pytest.raises(ValueError, match='gamma'): FocalLoss(gamma=-0.5)
    with pytest.raises(ValueError, match='reduction'): FocalLoss(reduction='avg')


def test_fastai_conventions(batch):
    logits, targ = batch
    loss = FocalLossFlat(gamma=2, alpha=0.75)
    torch.testing.assert_close(loss.activation(logits), F.softmax(logits, dim=-1))
    assert torch.equal(loss.decodes(logits), logits.argmax(-1))
    assert loss.y_int
    # flattening: a (B, N, C) input gives the same loss as (B*N, C)
    torch.testing.assert_close(loss(logits.view(4, 16, 2), targ.view(4, 16)), loss(logits, targ))
    # picklable (learn.export) and reduction settable like fastai losses
    back = pickle.loads(pickle.dumps(loss))
    torch.testing.assert_close(back(logits, targ), loss(logits, targ))
    loss.reduction = 'none'
    assert loss(logits, targ).shape == (64,)


def test_stable_and_finite_gradients_for_confident_logits():
    logits = torch.tensor([[60., -60.], [-60., 60.]], requires_grad=True)
    targ = torch.tensor([0, 0])
    for gamma in (0., 0.5, 2.):
        logits.grad = None
        loss = FocalLoss(gamma=gamma)(logits, targ)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()

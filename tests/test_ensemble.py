"Contracts of artifact_fastai.ensemble: combining, Caruana selection, abstention and its coverage, save/load."
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.ensemble import (SELECTION_METRICS, abstain_mask, combine_probs, coverage_report, decide,
                                      disagreement, fit_ensemble, member_spread, rank_scores, selective_ensemble,
                                      tau_for_coverage)


def members(n=600, seed=0, strengths=(1.0, 0.8, 0.6), n_noise=1, frac_artifact=0.3):
    "Labels and (n_members, n) probabilities: informative members of given `strengths`, then pure-noise members."
    r = np.random.default_rng(seed)
    y = np.where(r.random(n) < frac_artifact, ARTIFACT, CLEAN)
    logits = [s * (1 - 2 * y) + r.normal(0, 1, n) for s in strengths] + [r.normal(0, 1, n) for _ in range(n_noise)]
    return y, 1 / (1 + np.exp(-np.array(logits)))


def test_combine_mean_weighted_and_rank():
    P = np.array([[0.9, 0.2, 0.4], [0.5, 0.1, 0.3], [0.1, 0.6, 0.8]])
    np.testing.assert_allclose(combine_probs(P), P.mean(0))
    np.testing.assert_allclose(combine_probs(P, [2, 1, 1]), (2 * P[0] + P[1] + P[2]) / 4)
    np.testing.assert_allclose(combine_probs(P, [0, 0, 5]), P[2])
    # rank averaging ignores each member's scale: a monotone transform of one member changes nothing
    P2 = P.copy(); P2[1] = P2[1] ** 3
    np.testing.assert_allclose(combine_probs(P, method='rank'), combine_probs(P2, method='rank'))
    np.testing.assert_allclose(rank_scores([[0.3, 0.3, 0.9]]), [[1 / 3, 1 / 3, 5 / 6]])  # ties share the mid-rank


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('metric', ['auc', 'neg_log_loss'])
def test_selective_ensemble_keeps_strong_and_drops_useless(seed, metric):
    y, P = members(seed=seed, n_noise=2)
    sel = selective_ensemble(P, y, metric=metric)
    assert (sel.weights[3:] == 0).all(), sel.weights  # the random members get no weight
    assert sel.weights[0] > 0 and sel.weights[0] >= sel.weights[2]  # the strongest is in and weighs most
    if metric == 'auc': assert (sel.weights[:3] > 0).all(), sel.weights  # ranking gains from all three
    assert sel.path[0] == 0 and sel.weights.sum() == pytest.approx(1)
    f = SELECTION_METRICS[metric]
    assert f(y, combine_probs(P, sel.weights)) == pytest.approx(sel.score)
    assert sel.score >= max(f(y, p) for p in P)
    assert sel.score > f(y, P.mean(0))  # beats plain averaging, which lets the noise in


def test_selection_is_with_replacement_and_keeps_best_prefix():
    # a strong member and a weak one: the weak one helps a little, but only with a small weight,
    # which selection with replacement expresses by picking the strong member several times
    y, P = members(seed=3, strengths=(1.5, 0.5), n_noise=0)
    sel = selective_ensemble(P, y, metric='auc', n_rounds=12)
    assert len(sel.path) == 13
    assert sel.counts[0] >= 2 and sel.counts[1] >= 1 and 0.6 < sel.weights[0] < 1
    assert sel.n_kept == int(np.argmax(sel.scores)) + 1
    assert sel.scores[sel.n_kept - 1] == max(sel.scores)


def test_selection_with_custom_metric():
    y, P = members(seed=4)
    sel = selective_ensemble(P, y, metric=lambda y, p: roc_auc_score(y == ARTIFACT, p))
    assert sel.weights[3] == 0


def test_abstention_coverage_reported_exactly():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    p = np.array([.9, .7, .2, .6, .3, .1, .2, .4])
    unsure = np.array([0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    r = coverage_report(y, p, unsure, 0.5)
    assert r['n'] == 8 and r['n_unsure'] == 3 and r['coverage'] == pytest.approx(5 / 8)
    assert r['artifact_coverage'] == pytest.approx(1 / 3)
    # forced decisions on the unsure images: .7 Artifact (right), .2 Clean (wrong), .6 Artifact (wrong)
    assert r['error_rate_unsure'] == pytest.approx(2 / 3)
    assert r['accuracy_all'] == pytest.approx(6 / 8) and r['accuracy_decided'] == pytest.approx(1.0)
    assert r['recall_all'] == pytest.approx(2 / 3) and r['recall_decided'] == pytest.approx(1.0)
    assert decide(p, 0.5, unsure).tolist() == ['Artifact', 'Unsure', 'Unsure', 'Unsure', 'Clean', 'Clean', 'Clean', 'Clean']


@pytest.mark.parametrize('rule', ['std', 'margin'])
def test_tau_for_coverage_chosen_on_val_transfers_to_test(rule):
    y, P = members(n=2000, seed=5)
    w = [1, 1, 1, 0]
    t = 0.5
    for cov in (0.5, 0.8, 0.95):
        tau = tau_for_coverage(P[:, :1000], cov, w, rule, t)
        assert (~abstain_mask(P[:, :1000], w, rule, tau, t)).mean() == pytest.approx(cov, abs=0.005)
        assert (~abstain_mask(P[:, 1000:], w, rule, tau, t)).mean() == pytest.approx(cov, abs=0.05)


def test_abstention_sets_aside_harder_images():
    y, P = members(n=2000, seed=6)
    w = np.array([1, 1, 1, 0]) / 3
    p = combine_probs(P, w)
    for rule in ('margin', 'sides'):
        tau = None if rule == 'sides' else tau_for_coverage(P[:, :1000], 0.8, w, rule, 0.5)
        unsure = abstain_mask(P[:, 1000:], w, rule, tau, 0.5)
        r = coverage_report(y[1000:], p[1000:], unsure, 0.5)
        assert r['accuracy_decided'] > r['accuracy_all'] + 0.02, (rule, r)
        assert r['error_rate_unsure'] > 1.5 * (1 - r['accuracy_all']), (rule, r)


def test_spread_and_sides():
    P = np.array([[0.1, 0.9, 0.6], [0.3, 0.1, 0.7]])
    np.testing.assert_allclose(member_spread(P), [0.1, 0.4, 0.05])
    np.testing.assert_allclose(disagreement(P, rule='sides'), [0, 1, 0])
    np.testing.assert_allclose(disagreement(P, rule='margin'), [0.1 / 0.3, np.inf, 0.05 / 0.15])


def test_fit_ensemble_spec_is_json_ready_and_applies_unchanged():
    import json
    y, P = members(n=800, seed=7)
    spec = fit_ensemble(P[:, :400], y[:400], names=list('abcd'), method='rank', abstain_rule='std', coverage=0.9)
    assert spec.weights[3] == 0 and spec.threshold_source == 'val:max_f1'
    json.dumps(spec.__dict__)  # plain data only
    p_test = spec.predict_proba(P[:, 400:])
    singles = np.stack([spec.predict_proba(P[:, [i]])[0] for i in range(400, 420)])
    np.testing.assert_allclose(singles, p_test[:20])  # the same score one image at a time (stored reference)
    assert 0.8 < 1 - spec.unsure(P[:, 400:]).mean() < 1
    assert roc_auc_score(y[400:] == ARTIFACT, p_test) > max(roc_auc_score(y[400:] == ARTIFACT, q) for q in P[:, 400:])


def test_bad_inputs():
    with pytest.raises(ValueError, match='shape'): combine_probs(np.ones(3) * 0.5)
    with pytest.raises(ValueError, match='not in \\[0, 1\\]'): combine_probs([[0.5, np.nan]])
    with pytest.raises(ValueError, match='not one of'): selective_ensemble([[0.1, 0.9]], [0, 1], metric='speed')
    with pytest.raises(ValueError, match='distinct member names'): fit_ensemble([[0.1, 0.9], [0.2, 0.7]], [0, 1], names=['a', 'a'])


# ---- EnsembleDetector: members are learner.Detectors or anything with .config and predict_proba(list of PIL images)
from pathlib import Path

import torch
from PIL import Image

from artifact_fastai.core import DetectorConfig
from artifact_fastai.ensemble import EnsembleDetector, EnsembleSpec, load_ensemble
from artifact_fastai.detector import Detector, build_classifier, write_weights
from artifact_fastai.kinds import load_detector, register_detector_kind


class ChannelMember:
    "A tiny stand-in detector: P(Artifact) = `gain` x mean of one colour channel (or noise from the pixels' hash)."
    def __init__(self, channel, gain=1.0, path=None):
        self.channel, self.gain, self.path = channel, gain, path
        self.config = DetectorConfig(arch=f'toy{channel}', kind='toy', img_size=8, extra=dict(channel=channel, gain=gain))

    def predict_proba(self, images):
        a = np.stack([np.asarray(im, dtype=float) / 255 for im in images])
        if self.channel == 'noise':
            return np.array([np.random.default_rng(int(x.sum() * 1000) % 2**32).random() for x in a])
        return np.clip(a[..., self.channel].mean((1, 2)) * self.gain, 0, 1)

    def save(self, dest):
        Path(dest).mkdir(parents=True)
        self.config.to_json(Path(dest) / 'config.json')
        (Path(dest) / 'model.safetensors').write_bytes(b'weights of ' + str(self.channel).encode())

    @classmethod
    def load(cls, path):
        cfg = DetectorConfig.from_json(Path(path) / 'config.json')
        assert (Path(path) / 'model.safetensors').is_file()
        return cls(cfg.extra['channel'], cfg.extra['gain'], path=Path(path))


register_detector_kind('toy', ChannelMember.load)


def toy_images(n=120, seed=0):
    "Images whose red and green channels both carry the label (Artifact = brighter), plus pixel noise."
    r = np.random.default_rng(seed)
    y = np.where(r.random(n) < 0.4, ARTIFACT, CLEAN)
    imgs = []
    for lab in y:
        base = 0.6 if lab == ARTIFACT else 0.4
        a = np.clip(r.normal(base, 0.12, (1, 1, 3)) + r.normal(0, 0.05, (8, 8, 3)), 0, 1)
        imgs.append(Image.fromarray((a * 255).astype(np.uint8)))
    return y, imgs


def test_ensemble_detector_from_validation_drops_useless_and_round_trips(tmp_path):
    y, imgs = toy_images(300)  # 150 validation images: with far fewer, noise can win a greedy step by chance
    members_ = [ChannelMember(0), ChannelMember(1), ChannelMember('noise')]
    probe = EnsembleDetector(members_, EnsembleSpec(['r', 'g', 'n'], [1 / 3] * 3))
    P_val = probe.member_probs(imgs[:150])
    ens = EnsembleDetector.from_validation(members_, P_val, y[:150], abstain_rule='margin', coverage=0.9)
    assert [m.channel for m in ens.members] == [0, 1]  # the noise member was dropped
    assert ens.spec.names == ['toy0', 'toy1'] and ens.spec.selection['all_members'] == ['toy0', 'toy1', 'toynoise']
    assert ens.config.kind == 'ensemble' and ens.config.threshold_source == 'val:max_f1'
    assert set(ens.config.extra) >= {'members', 'weights', 'method', 'abstain_rule', 'tau', 'selection'}
    assert 'val_f1' in ens.config.metrics and 0.85 <= ens.config.metrics['val_coverage'] <= 1

    folder = ens.save(tmp_path / 'ens')
    assert (folder / 'config.json').is_file()
    assert sorted(p.name for p in (folder / 'members').iterdir()) == ['toy0', 'toy1']
    assert (folder / 'members' / 'toy0' / 'model.safetensors').read_bytes() == b'weights of 0'
    back = load_detector(folder)  # through the registry: kind 'ensemble', members of kind 'toy'
    assert isinstance(back, EnsembleDetector) and isinstance(back, Detector)
    assert back.spec == ens.spec and back.config.threshold == ens.config.threshold
    np.testing.assert_allclose(back.predict_proba(imgs[150:]), ens.predict_proba(imgs[150:]))
    assert back.predict_with_unsure(imgs[150:]).equals(ens.predict_with_unsure(imgs[150:]))
    # saving a loaded ensemble copies the member folders it was loaded from
    again = load_detector(back.save(tmp_path / 'copy'))
    np.testing.assert_allclose(again.predict_proba(imgs), ens.predict_proba(imgs))


def test_ensemble_folder_errors(tmp_path):
    ens = EnsembleDetector([ChannelMember(0), ChannelMember(1)], EnsembleSpec(['a', 'b'], [0.5, 0.5]))
    folder = ens.save(tmp_path / 'e')
    with pytest.raises(FileExistsError, match='not empty'): ens.save(folder)
    ens.save(folder, force=True)
    import shutil
    shutil.rmtree(folder / 'members' / 'b')
    with pytest.raises(FileNotFoundError, match=r"\['b'\]"): load_ensemble(folder, loader=ChannelMember.load)
    with pytest.raises(ValueError, match='2 named in the spec'): EnsembleDetector([ChannelMember(0)], EnsembleSpec(['a', 'b'], [0.5, 0.5]))


def classifier_folder(dest, seed):
    "A real `kind='classifier'` model folder (timm's tiny test_resnet, random weights) as `save_detector` writes it."
    torch.manual_seed(seed)
    cfg = DetectorConfig(arch='test_resnet', img_size=32, extra=dict(n_out=2, model_kwargs={}, channels_last=False))
    model = build_classifier(cfg)
    dest.mkdir(parents=True)
    cfg.extra['weights_sha256'] = write_weights(model.state_dict(), dest)
    cfg.to_json(dest / 'config.json')
    return dest


def test_ensemble_of_real_classifier_folders_round_trips(tmp_path):
    members_ = [load_detector(classifier_folder(tmp_path / f'cls{i}', i)) for i in range(2)]
    y, imgs = toy_images(40)
    P = np.stack([m.predict_proba(imgs) for m in members_])
    ens = EnsembleDetector.from_validation(members_, P, y, select=False)
    assert ens.spec.names == ['cls0', 'cls1']
    np.testing.assert_allclose(ens.predict_proba(imgs), P.mean(0), rtol=1e-5)
    back = load_detector(ens.save(tmp_path / 'ens'))
    assert (tmp_path / 'ens' / 'members' / 'cls1' / 'model.safetensors').is_file()
    np.testing.assert_allclose(back.predict_proba(imgs), ens.predict_proba(imgs), rtol=1e-6)
    with pytest.warns(UserWarning, match='1 of 4 items could not be scored'):
        out = back.predict(imgs[:3] + [str(tmp_path / 'missing.png')], progress=False)
    assert list(out.columns[:4]) == ['path', 'prob_artifact', 'label', 'error']
    assert out['error'].notna().tolist() == [False, False, False, True]
    assert out['label'][:3].isin(['Artifact', 'Clean']).all()

"Contracts of artifact_fastai.metrics: scikit-learn agreement, threshold protocol, bootstrap intervals, leakage, report."
import inspect, json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (accuracy_score, precision_score, recall_score, f1_score, roc_auc_score,
                             average_precision_score, balanced_accuracy_score, matthews_corrcoef, confusion_matrix)

from artifact_fastai.core import ARTIFACT, CLEAN
from artifact_fastai.metrics import (METRIC_NAMES, Threshold, binary_metrics, bootstrap_ci, bootstrap_metrics,
                                     choose_threshold, confusion_frame, evaluate, evaluate_with_val_threshold,
                                     find_leaks, ReportTable, _weighted_metrics, _resample_weights)


def scores(n=300, frac_artifact=0.3, sep=0.3, seed=0, decimals=None):
    "Labels (0 = Artifact) and P(Artifact) of a made-up model that separates the classes by `sep`."
    r = np.random.default_rng(seed)
    y = np.where(r.random(n) < frac_artifact, ARTIFACT, CLEAN)
    p = np.clip(0.5 + sep * (0.5 - y) + r.normal(0, 0.25, n), 0, 1)
    return y, (p.round(decimals) if decimals else p)


FIXED_Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1])
FIXED_P = np.array([.9, .8, .4, .6, .7, .1, .2, .3, .6, .05, .55, .5])


@pytest.mark.parametrize('threshold', [0.35, 0.5, 0.58, 0.95])
def test_metrics_equal_sklearn_on_fixed_arrays(threshold):
    m = binary_metrics(FIXED_Y, FIXED_P, threshold)
    pred = np.where(FIXED_P >= threshold, 0, 1)
    art = FIXED_Y == 0
    expected = dict(accuracy=accuracy_score(FIXED_Y, pred),
                    precision=precision_score(FIXED_Y, pred, pos_label=0, zero_division=0),
                    recall=recall_score(FIXED_Y, pred, pos_label=0), f1=f1_score(FIXED_Y, pred, pos_label=0),
                    precision_clean=precision_score(FIXED_Y, pred, pos_label=1, zero_division=0),
                    recall_clean=recall_score(FIXED_Y, pred, pos_label=1), f1_clean=f1_score(FIXED_Y, pred, pos_label=1),
                    auc=roc_auc_score(art, FIXED_P), ap=average_precision_score(art, FIXED_P),
                    balanced_accuracy=balanced_accuracy_score(FIXED_Y, pred), mcc=matthews_corrcoef(FIXED_Y, pred))
    for k, v in expected.items(): assert m[k] == pytest.approx(v, abs=1e-12), k
    tn, fp, fn, tp = confusion_matrix(art, pred == 0).ravel()  # sklearn's order with Artifact as True
    assert (m['tp'], m['fp'], m['fn'], m['tn']) == (tp, fp, fn, tn)
    cf = confusion_frame(FIXED_Y, FIXED_P, threshold)
    assert cf.loc['true Artifact', 'pred Artifact'] == tp and cf.loc['true Clean', 'pred Artifact'] == fp


def test_fixed_values_by_hand():
    # at 0.5: Artifact called Artifact: .9 .8 .6 .55 (4 of 5); Clean called Artifact: .7 .6 .5 (3 of 7)
    m = binary_metrics(FIXED_Y, FIXED_P, 0.5)
    assert (m['tp'], m['fp'], m['fn'], m['tn']) == (4, 3, 1, 4)
    assert m['precision'] == pytest.approx(4 / 7) and m['recall'] == pytest.approx(4 / 5)
    assert m['accuracy'] == pytest.approx(8 / 12)


def test_vectorised_bootstrap_formulas_equal_sklearn_with_ties():
    y, p = scores(500, decimals=2)  # rounding creates many tied scores
    ones = _weighted_metrics(np.ones((1, len(y))), y, p, 0.5)
    ref = binary_metrics(y, p, 0.5)
    for k in METRIC_NAMES: assert ones[k][0] == pytest.approx(ref[k], abs=1e-12), k
    W = _resample_weights(y == ARTIFACT, 5, np.random.default_rng(7))
    vec = _weighted_metrics(W, y, p, 0.5)
    for b in range(5):
        idx = np.repeat(np.arange(len(y)), W[b].astype(int))
        ref_b = binary_metrics(y[idx], p[idx], 0.5)
        for k in METRIC_NAMES: assert vec[k][b] == pytest.approx(ref_b[k], abs=1e-12), (b, k)


def test_stratified_resampling_keeps_class_counts():
    y, _ = scores(200)
    W = _resample_weights(y == ARTIFACT, 50, np.random.default_rng(0))
    assert (W.sum(1) == 200).all()
    assert (W[:, y == ARTIFACT].sum(1) == (y == ARTIFACT).sum()).all()
    assert len({tuple(w) for w in W}) == 50  # replicates differ


def test_threshold_independent_of_test_labels():
    y, p = scores(600, seed=1)
    yv, pv, yt, pt = y[:300], p[:300], y[300:], p[300:]
    rng = np.random.default_rng(0)
    thresholds = {evaluate_with_val_threshold(yv, pv, yt_, pt).threshold
                  for yt_ in [yt, rng.permutation(yt), 1 - yt, np.zeros_like(yt)]}
    assert len(thresholds) == 1
    assert thresholds == {float(choose_threshold(yv, pv))}
    # evaluate has no route for labels or a method to reach the threshold: it takes a number and nothing else
    assert list(inspect.signature(evaluate).parameters)[:3] == ['y', 'p_artifact', 'threshold']
    assert not {'method', 'target_recall', 'y_val', 'p_val'} & set(inspect.signature(evaluate).parameters)
    for bad in ['max_f1', yt, np.array([0.5]), None, True, float('nan'), lambda y, p: 0.5]:
        with pytest.raises(TypeError, match='finite number'): evaluate(yt, pt, bad)
    e = evaluate(yt, pt, 0.5)
    assert e.threshold == 0.5 and e.threshold_source == 'given'


@pytest.mark.parametrize('method', ['max_f1', 'youden', 'target_recall', 'target_precision', 'max_accuracy'])
def test_threshold_methods_optimise_their_criterion_on_val(method):
    y, p = scores(400, seed=2, decimals=3)
    t = choose_threshold(y, p, method, target_recall=0.8, target_precision=0.8)
    assert isinstance(t, Threshold) and t.source.startswith(f'val:{method}')
    art = y == ARTIFACT
    def crit(c):  # brute force over every candidate, independent of the roc_curve route
        called = p >= c
        tp, fp, fn, tn = (art & called).sum(), (~art & called).sum(), (art & ~called).sum(), (~art & ~called).sum()
        if method == 'max_f1': return 2 * tp / (2 * tp + fp + fn)
        if method == 'youden': return tp / (tp + fn) - fp / (fp + tn)
        if method == 'max_accuracy': return (tp + tn) / len(y)
        if method == 'target_precision': return (tp / (tp + fn) if tp / max(tp + fp, 1) >= 0.8 else -1, c)  # best recall, then higher
        return c if tp / (tp + fn) >= 0.8 else -1
    best_c = max(np.unique(p)[::-1], key=crit)  # first maximum from the highest score down: ties go to the higher threshold
    if method not in ("target_recall", "target_precision"): assert crit(t) == pytest.approx(crit(best_c))
    assert ((p >= t) == (p >= best_c)).all()  # same decisions as the best validation score (ties: highest)
    if method == 'target_recall': assert binary_metrics(y, p, t)['recall'] >= 0.8
    if method == 'target_precision': assert binary_metrics(y, p, t)['precision'] >= 0.8


def test_ci_contains_point_estimate_and_narrows_with_n():
    y, p = scores(2000, seed=3)
    widths = {}
    for n in (100, 400, 1600):
        e = evaluate(y[:n], p[:n], 0.5, n_boot=1000, seed=0)
        for k in METRIC_NAMES:
            lo, hi = e.ci[k]
            assert lo <= e.metrics[k] <= hi, (n, k)
        widths[n] = {k: e.ci[k][1] - e.ci[k][0] for k in ('accuracy', 'f1', 'auc', 'mcc')}
    for k in widths[100]: assert widths[100][k] > widths[400][k] > widths[1600][k], k
    assert e.ci_str('f1').count('[') == 1


def test_bootstrap_seeded_and_shaped():
    y, p = scores(150, seed=4)
    a = bootstrap_metrics(y, p, 0.5, n_boot=300, seed=5)
    assert a.shape == (300, len(METRIC_NAMES))
    pd.testing.assert_frame_equal(a, bootstrap_metrics(y, p, 0.5, n_boot=300, seed=5))
    assert not a.equals(bootstrap_metrics(y, p, 0.5, n_boot=300, seed=6))
    lo, hi = bootstrap_ci(y, p, 0.5, n_boot=300, level=0.5)['auc']
    lo95, hi95 = bootstrap_ci(y, p, 0.5, n_boot=300, level=0.95)['auc']
    assert lo95 < lo < hi < hi95


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match='0 \\(Artifact\\) or 1'): binary_metrics([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match='NaN'): evaluate([0, 1], [np.nan, 0.2], 0.5)
    with pytest.raises(ValueError, match='both classes'): choose_threshold([0, 0], [0.1, 0.2])


def test_single_class_split_gives_nan_auc_not_a_crash():
    m = binary_metrics([1, 1, 1], [0.1, 0.6, 0.2], 0.5)
    assert np.isnan(m['auc']) and m['fp'] == 1 and m['accuracy'] == pytest.approx(2 / 3)


def test_find_leaks_across_splits(tmp_path):
    files = {'train/a.jpg': b'A', 'train/b.jpg': b'B', 'val/c.jpg': b'C', 'test/a_copy.jpg': b'A', 'test/d.jpg': b'D',
             'train/d_again.jpg': b'D', 'train/b_twice.jpg': b'B'}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True); (tmp_path / name).write_bytes(data)
    df = pd.DataFrame({'path': list(files), 'split': [n.split('/')[0] for n in files], 'label': 0})
    df.attrs['root'] = tmp_path
    leaks = find_leaks(df)
    assert set(map(frozenset, leaks['paths'])) == {frozenset({'train/a.jpg', 'test/a_copy.jpg'}),
                                                  frozenset({'test/d.jpg', 'train/d_again.jpg'})}
    assert set(map(tuple, leaks['splits'])) == {('test', 'train')}
    assert len(find_leaks(df, cross_split_only=False)) == 3  # also the within-train duplicate
    df.loc[len(df)] = ['val/missing.jpg', 'val', 0]
    with pytest.raises(FileNotFoundError, match='missing.jpg'): find_leaks(df)


def test_report_table_formats(tmp_path):
    y, _ = scores(600, seed=8)
    yv, yt = y[:300], y[300:]
    evals = []
    for name, sep, seed in [('weak', 0.1, 1), ('strong', 0.6, 2), ('medium', 0.3, 3)]:
        r = np.random.default_rng(seed)
        pv, pt = (np.clip(0.5 + sep * (0.5 - yy) + r.normal(0, 0.25, len(yy)), 0, 1) for yy in (yv, yt))
        evals.append(evaluate(yt, pt, choose_threshold(yv, pv, 'youden'), name=name, n_boot=200))
    for sort_by in ('auc', 'mcc'):
        table = ReportTable(evals, sort_by=sort_by)
        vals = [e.metrics[sort_by] for e in table.evaluations]
        assert vals == sorted(vals, reverse=True)
    table = ReportTable(evals, sort_by='auc')
    assert [e.name for e in table.evaluations] == ['strong', 'medium', 'weak']
    md = table.to_markdown(digits=2)
    assert 'Split: test (n=300' in md and 'Thresholds: val:youden' in md and '95%' in md
    header = md.splitlines()[2]
    assert header.startswith('| Model | Accuracy | Precision | Recall | F1 Score | AUC |')
    assert 'Balanced Accuracy' in header and 'MCC' in header and 'AP (Artifact)' in header
    strong = evals[1]
    assert f"| strong | {strong.ci_str('accuracy', 2)} |" in md
    paths = table.save(tmp_path, stem='t')
    csv = pd.read_csv(paths['csv'])
    assert csv['model'].tolist() == ['strong', 'medium', 'weak']
    assert csv.loc[0, 'auc'] == pytest.approx(strong.metrics['auc'])
    assert csv.loc[0, 'auc_low'] == pytest.approx(strong.ci['auc'][0])
    assert (csv['threshold_source'] == 'val:youden').all() and (csv['split'] == 'test').all()
    js = json.loads(paths['json'].read_text())
    assert js['sort_by'] == 'auc' and js['rows'][0]['model'] == 'strong' and 'Split: test' in js['description']
    assert paths['md'].read_text() == table.to_markdown()
    plain = ReportTable([evaluate(yt, yt * 0.2 + 0.4, 0.5, name='no ci')]).to_markdown()
    assert '[' not in plain.split('\n\n')[1] and 'Brackets' not in plain

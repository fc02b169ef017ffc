"""The `artifact-fastai` command end to end on a tiny synthetic set: train (plain, --recipe, --distributed), evaluate,
predict (kill and resume, bad files, --force), robustness, exit codes, a light import, and a miniature demo."""
import contextlib, csv, io, os, re, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
import pytest

from artifact_fastai.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from artifact_fastai.predict import PREDICT_COLUMNS
from artifact_fastai.experiment import run_demo
from artifact_fastai.synth import make_synthetic_dataset

ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'PYTHONWARNINGS': 'ignore'}
CLI = [sys.executable, '-c', 'import sys; from artifact_fastai.cli import main; sys.exit(main())']


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    "90 images of 32 px, 30% Artifact, in the seed layout."
    return make_synthetic_dataset(tmp_path_factory.mktemp('cli_data'), n=90, artifact_frac=0.3, size=32, seed=0, style='traces')


@pytest.fixture(scope='module')
def model(data, tmp_path_factory) -> Path:
    "A resnet18 trained one epoch at 32 px through `artifact-fastai train`."
    out = tmp_path_factory.mktemp('cli_models')/'r18'
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        assert main(['train', '--data', str(data), '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--bs', '16',
                     '--no-pretrained', '--out', str(out), '--quiet']) == EXIT_OK
    (out.parent/'train_stdout.txt').write_text(buf.getvalue())
    return out


def read_rows(path) -> list[dict]:
    with open(path, newline='') as f: return list(csv.DictReader(f))


def test_train_writes_model_with_val_threshold(model):
    from artifact_fastai.core import DetectorConfig
    assert sorted(p.name for p in model.iterdir()) == ['config.json', 'model.safetensors']
    cfg = DetectorConfig.from_json(model/'config.json')
    assert (cfg.arch, cfg.img_size, cfg.threshold_source) == ('resnet18', 32, 'val:max_f1')
    assert 0 <= cfg.threshold <= 1


def test_train_prints_val_and_test_metrics_and_where_the_model_went(model):
    "`train` ends with the metrics it computed (a row per split) and the model folder (issue 16)."
    text = (model.parent/'train_stdout.txt').read_text()
    assert '| split | auc | balanced_accuracy | accuracy | precision | recall | f1 | ap |' in text
    rows = [l for l in text.splitlines() if l.startswith(('| val |', '| test |'))]
    assert len(rows) == 2 and all(len(r.split('|')) == 10 for r in rows), text
    assert f'saved {model} (threshold' in text


def test_train_refuses_overwrite_without_force(model, data):
    before = (model/'config.json').read_bytes()
    assert main(['train', '--data', str(data), '--arch', 'resnet18', '--size', '32', '--out', str(model), '--quiet']) == EXIT_USAGE
    assert (model/'config.json').read_bytes() == before


def test_evaluate_writes_self_contained_report(model, data, tmp_path):
    out = tmp_path/'rep'
    args = ['evaluate', str(model), '--data', str(data), '--out', str(out), '--n-boot', '50', '--quiet']
    assert main(args) == EXIT_OK
    page = (out/'report.html').read_text()
    assert page.count('src="data:image/png;base64,') >= 2  # ROC/PR and confusion matrices inside the file
    assert re.findall(r'(?:src|href)="(?!data:)[^"]*"', page) == []
    md = (out/'report.md').read_text()
    assert 'val:max_f1' in md and 'test split' in md and '| r18 |' in md
    assert all((out/'figures'/f).is_file() for f in ('roc_pr.png', 'confusion.png'))
    row = read_rows(out/'metrics.csv')[0]
    assert row['model'] == 'r18' and row['split'] == 'test' and int(row['n']) == len(read_rows(data/'test.csv'))
    assert float(row['f1_low']) <= float(row['f1']) <= float(row['f1_high'])
    assert main(args) == EXIT_USAGE           # an existing report is kept...
    assert main(args + ['--force']) == EXIT_OK  # ...unless --force


@pytest.fixture
def images(data, tmp_path) -> Path:
    "A folder with 20 good images and three bad files (empty, not an image, truncated)."
    folder = tmp_path/'imgs'; folder.mkdir()
    for p in sorted((data/'images').glob('*.png'))[:20]: shutil.copy(p, folder/p.name)
    (folder/'zz_empty.png').write_bytes(b'')
    (folder/'zz_text.png').write_text('not an image')
    good = (folder/'img_00000.png').read_bytes(); (folder/'zz_truncated.png').write_bytes(good[:len(good) // 2])
    return folder


def test_predict_values_and_bad_files_become_error_rows(model, images, tmp_path):
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.data import open_image
    out = tmp_path/'preds.csv'
    assert main(['predict', str(model), str(images), '--out', str(out), '--bs', '8', '--quiet']) == EXIT_PROBLEMS
    rows = read_rows(out)
    assert tuple(rows[0]) == PREDICT_COLUMNS and len(rows) == 23
    bad = {Path(r['path']).name for r in rows if r['error']}
    assert bad == {'zz_empty.png', 'zz_text.png', 'zz_truncated.png'}
    assert all(r['prob_artifact'] == '' and r['label'] == '' for r in rows if r['error'])
    det = load_detector(model)
    good = [r for r in rows if not r['error']]
    expected = det.predict_proba([open_image(r['path']) for r in good])
    np.testing.assert_allclose([float(r['prob_artifact']) for r in good], expected, atol=1e-5)
    t = det.config.threshold
    assert [r['label'] for r in good] == ['Artifact' if p >= t else 'Clean' for p in expected]


def test_predict_csv_source_keeps_its_paths_and_unsure_band(model, data, tmp_path):
    out = tmp_path/'p.csv'
    assert main(['predict', str(model), str(data/'test.csv'), '--out', str(out), '--unsure-band', '1', '--quiet']) == EXIT_OK
    rows = read_rows(out)
    with open(data/'test.csv', newline='') as f: want = [r['image'] for r in csv.DictReader(f)]
    assert [r['path'] for r in rows] == want
    assert {r['label'] for r in rows} == {'Unsure'}


def test_predict_force_and_foreign_outputs(model, images, tmp_path):
    out = tmp_path/'p.csv'
    out.write_text('my notes, not predictions')
    args = ['predict', str(model), str(images), '--out', str(out), '--quiet']
    assert main(args) == EXIT_USAGE and out.read_text() == 'my notes, not predictions'  # untouched
    assert main(args + ['--force']) == EXIT_PROBLEMS and len(read_rows(out)) == 23
    other = tmp_path/'other_model'; shutil.copytree(model, other)
    assert main(['predict', str(other), str(images), '--out', str(out), '--quiet']) == EXIT_USAGE  # written by another model
    assert main(['predict', str(model), str(images), '--out', str(out), '--quiet']) == EXIT_PROBLEMS  # same model: resume, nothing new
    assert len(read_rows(out)) == 23


def _assert_same_rows(out, reference):
    rows, ref = read_rows(out), read_rows(reference)
    paths = [r['path'] for r in rows]
    assert len(paths) == len(set(paths)) == len(ref)  # none lost, none doubled
    key = lambda r: (r['path'], r['label'], r['error'])
    assert sorted(map(key, rows)) == sorted(map(key, ref))
    np.testing.assert_allclose([float(r['prob_artifact'] or 'nan') for r in sorted(rows, key=key)],
                               [float(r['prob_artifact'] or 'nan') for r in sorted(ref, key=key)], atol=1e-6)


def test_predict_killed_then_resumed_loses_and_doubles_nothing(model, images, tmp_path):
    reference, out = tmp_path/'ref.csv', tmp_path/'p.csv'
    main(['predict', str(model), str(images), '--out', str(reference), '--bs', '4', '--quiet'])
    # a real SIGKILL right after the 2nd batch was written (hidden test hook)
    p = subprocess.run(CLI + ['predict', str(model), str(images), '--out', str(out), '--bs', '4', '--quiet',
                              '--stop-after-batches', '2'], env=ENV, capture_output=True, text=True, timeout=600)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert len(read_rows(out)) == 8
    with open(out, 'a') as f: f.write(str(images/'img_0'))  # and a crash in the middle of a line
    assert main(['predict', str(model), str(images), '--out', str(out), '--bs', '4', '--quiet']) == EXIT_PROBLEMS
    _assert_same_rows(out, reference)


def test_predict_killed_from_outside_then_resumed(model, images, tmp_path):
    reference, out = tmp_path/'ref.csv', tmp_path/'p.csv'
    main(['predict', str(model), str(images), '--out', str(reference), '--bs', '2', '--quiet'])
    p = subprocess.Popen(CLI + ['predict', str(model), str(images), '--out', str(out), '--bs', '2', '--quiet',
                                '--batch-delay', '0.5'], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 5): time.sleep(0.05)
    p.kill(); p.wait()
    n_written = len(read_rows(out))
    assert 4 <= n_written < 23
    assert main(['predict', str(model), str(images), '--out', str(out), '--bs', '2', '--quiet']) == EXIT_PROBLEMS
    _assert_same_rows(out, reference)


def test_gradcam_writes_overlays(model, data, tmp_path):
    out = tmp_path/'g'
    args = ['gradcam', str(model), str(data/'images'), '--out', str(out), '--max-images', '3', '--quiet']
    assert main(args) == EXIT_OK
    assert len(list(out.glob('*.png'))) == 3 and (out/'gradcam.csv').is_file()
    assert main(args) == EXIT_USAGE  # a non-empty folder needs --force


def test_roi_precomputes_a_box_cache(data, tmp_path):
    assert main(['roi', str(data), '--workers', '1', '--cache-dir', str(tmp_path/'cache'), '--quiet']) == EXIT_OK
    cache = list((tmp_path/'cache').glob('boxes-*.jsonl'))
    assert len(cache) == 1 and len(cache[0].read_text().splitlines()) == 1 + 90  # header + one line per image


def test_usage_errors_exit_2(model, data, tmp_path):
    assert main(['predict', str(tmp_path/'nope'), str(data/'images'), '--out', str(tmp_path/'p.csv')]) == EXIT_USAGE
    assert main(['predict', str(model), str(tmp_path/'nowhere'), '--out', str(tmp_path/'p.csv')]) == EXIT_USAGE
    assert main(['evaluate', str(model), '--data', str(tmp_path/'nowhere'), '--out', str(tmp_path/'r')]) == EXIT_USAGE
    assert main(['train', '--train-csv', str(tmp_path/'missing.csv'), '--val-csv', str(tmp_path/'v.csv'), '--out', str(tmp_path/'m')]) == EXIT_USAGE
    assert main(['no-such-command']) == EXIT_USAGE
    assert main([]) == EXIT_USAGE
    for cmd in ('train', 'evaluate', 'predict', 'gradcam', 'roi', 'robustness', 'demo', 'synth', 'check', 'get-face-model', 'get-hand-models'):
        assert main([cmd, '--help']) == EXIT_OK


def test_train_with_bad_rows_drops_them_and_exits_1(data, tmp_path):
    root = tmp_path/'d'; shutil.copytree(data, root)
    (root/'images/img_00001.png').write_bytes(b'')
    args = ['train', '--data', str(root), '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--no-pretrained', '--quiet']
    assert main(args + ['--out', str(tmp_path/'m1')]) == EXIT_USAGE  # bad rows stop the job by default
    assert main(args + ['--out', str(tmp_path/'m2'), '--drop-bad']) == EXIT_PROBLEMS
    assert (tmp_path/'m2'/'model.safetensors').is_file()


def _val_images(data):
    from artifact_fastai.data import open_image
    rows = read_rows(data/'val.csv')
    return [open_image(data/r['image']) for r in rows], np.array([int(r['label']) for r in rows])


def test_train_recipe_saves_its_settings_and_val_threshold(data, tmp_path):
    from artifact_fastai.core import DetectorConfig
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.metrics import choose_threshold
    out = tmp_path/'fast'
    args = ['train', '--data', str(data), '--recipe', 'fast', '--arch', 'resnet18', '--size', '32', '--set', 'train_crop=24',
            '--epochs', '1', '--bs', '16', '--no-pretrained', '--quiet', '--out', str(out)]
    assert main(args) == EXIT_OK
    cfg = DetectorConfig.from_json(out/'config.json')
    assert (cfg.arch, cfg.img_size, cfg.resize, cfg.threshold_source) == ('resnet18', 32, 'native', 'val:youden')  # the recipe's
    rec = cfg.extra['recipe']
    assert (rec['train_crop'], rec['epochs'], rec['freeze_epochs'], rec['bs'], cfg.extra['tta']) == (24, 1, 1, 16, 'flip')
    # the saved threshold is the recipe's choice on val, scored by the saved model with the saved TTA
    imgs, y = _val_images(data)
    assert cfg.threshold == pytest.approx(float(choose_threshold(y, load_detector(out).predict_proba(imgs), 'youden')), abs=1e-4)
    assert main(args) == EXIT_USAGE  # exists
    base = ['train', '--data', str(data), '--out', str(tmp_path/'x'), '--quiet']
    assert main(base + ['--recipe', 'fast', '--set', 'no_such_field=1']) == EXIT_USAGE
    assert main(base + ['--set', 'epochs=1']) == EXIT_USAGE  # --set without --recipe
    assert main(base + ['--recipe', 'default', '--size', '64']) == EXIT_USAGE  # 224 px training crop > 64 px input
    assert not (tmp_path/'x').exists()


def test_train_distributed_refuses_what_cannot_pass_through(data, tmp_path):
    csvs = ['--train-csv', str(data/'train.csv'), '--val-csv', str(data/'val.csv')]
    assert main(['train', *csvs, '--distributed', '2', '--out', str(tmp_path/'m')]) == EXIT_USAGE
    assert main(['train', '--data', str(data), '--recipe', 'fast', '--distributed', '2', '--out', str(tmp_path/'m')]) == EXIT_USAGE
    assert main(['train', '--data', str(data), '--distributed', '0', '--out', str(tmp_path/'m')]) == EXIT_USAGE
    assert main(['train', '--data', str(tmp_path/'nowhere'), '--distributed', '2', '--out', str(tmp_path/'m')]) == EXIT_USAGE
    assert not (tmp_path/'m').exists()


def test_train_distributed_two_cpu_processes(data, tmp_path, monkeypatch):
    "`train --distributed 2` under torchrun (gloo): one model folder whose threshold is the max-F1 one on val."
    from artifact_fastai.core import DetectorConfig
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.metrics import choose_threshold
    for k, v in dict(CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1').items(): monkeypatch.setenv(k, v)
    out = tmp_path/'runs'/'r18'
    args = ['train', '--data', str(data), '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--bs', '8',
            '--no-pretrained', '--quiet', '--distributed', '2', '--out', str(out)]
    assert main(args) == EXIT_OK
    assert [p.name for p in (tmp_path/'runs').iterdir()] == ['r18']
    assert sorted(p.name for p in out.iterdir()) == ['config.json', 'model.safetensors']
    cfg = DetectorConfig.from_json(out/'config.json')
    assert (cfg.arch, cfg.img_size, cfg.threshold_source) == ('resnet18', 32, 'val:max_f1')
    imgs, y = _val_images(data)
    p = load_detector(out).predict_proba(imgs)
    assert cfg.threshold == pytest.approx(float(choose_threshold(y, p, 'max_f1')), abs=1e-4)
    assert main(args) == EXIT_USAGE  # exists: refused before torchrun starts


def test_robustness_writes_tables_and_plot(model, data, tmp_path):
    from artifact_fastai.data import open_image
    from artifact_fastai.kinds import load_detector
    from artifact_fastai.metrics import binary_metrics
    from artifact_fastai.robustness import standard_perturbations
    out = tmp_path/'rob'; out.mkdir(); (out/'notes.txt').write_text('mine')
    args = ['robustness', str(model), '--data', str(data), '--out', str(out), '--quiet']
    assert main(args) == EXIT_USAGE  # a non-empty output folder is kept...
    assert main(args + ['--force']) == EXIT_OK  # ...unless --force
    assert sorted(p.name for p in out.iterdir()) == ['format_check.csv', 'format_check.md', 'notes.txt', 'sweep.csv', 'sweep.md', 'sweep.png']
    assert (out/'sweep.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    rows, test = read_rows(out/'sweep.csv'), read_rows(data/'test.csv')
    assert [r['perturbation'] for r in rows] == [p.name for p in standard_perturbations()]
    assert {int(r['n']) for r in rows} == {len(test)} and float(rows[0]['auc_drop']) == 0
    y = np.array([int(r['label']) for r in test])
    p = load_detector(model).predict_proba([open_image(data/r['image']) for r in test])
    assert float(rows[0]['auc']) == pytest.approx(binary_metrics(y, p, 0.5)['auc'], abs=1e-9)  # unperturbed row = the model on test
    assert '| none |' in (out/'sweep.md').read_text()
    fc = read_rows(out/'format_check.csv')
    assert len(fc) == 5 and float(fc[1]['max_abs_diff']) == 0.0  # same pixels from a PNG file score the same
    assert main(['robustness', str(model), '--data', str(data), '--split', 'nosuch', '--out', str(tmp_path/'r2')]) == EXIT_USAGE
    assert main(['robustness', str(tmp_path/'nomodel'), '--data', str(data), '--out', str(tmp_path/'r3')]) == EXIT_USAGE


def test_import_and_help_stay_light():
    code = ('import sys, artifact_fastai.cli as c; c.build_parser().format_help(); '
            'print(sorted(m for m in ("torch", "fastai", "pandas", "matplotlib") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == '[]', out.stderr


def test_miniature_demo_writes_report_models_and_ensembles(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = run_demo(n=100, img_size=32, size=32, epochs=1, archs=('resnet18',), n_boot=50, quiet=True)
    out = capsys.readouterr().out  # the terminal ends with the short table and the pointing game (issue 19)
    assert '| model | auc | ap | recall | precision | threshold |' in out and '| ensemble_selective |' in out
    best = re.search(r'the heatmap peak \((.*?)\) of `(\w+)` \((\w+), the best full-frame member', out)  # the probe or the CNN (val AUC)
    assert best and best.group(2) in ('feature_probe', 'resnet18') and 'known defect box on' in out and '95% interval' in out, out
    assert best.group(3) == ('probe' if best.group(2) == 'feature_probe' else 'classifier')
    assert best.group(1).startswith('exact class activation map' if best.group(2) == 'feature_probe' else 'GradCAM')
    assert 'pointing game' in paths['md'].read_text() and 'within 15 px of it' in paths['md'].read_text()
    assert '### Artifact recall per category' in paths['md'].read_text()  # from the synthetic set's artifacts.csv (issue 17)
    assert paths['html'] == Path('reports/demo/report.html') and paths['html'].is_file()
    names = {r['model'] for r in read_rows(paths['metrics_csv'])}
    members = {'feature_probe', 'resnet18', 'resnet18_roi', 'anomaly_autoencoder'}
    assert names == members | {'ensemble_mean', 'ensemble_selective'}
    for m in names: assert (tmp_path/'models/demo'/m/'config.json').is_file()
    md = paths['md'].read_text()
    assert 'Abstention' in md and f"## {'Class activation map' if best.group(2) == 'feature_probe' else 'GradCAM'}, full frame: {best.group(2)}" in md and '## GradCAM, face ROI: resnet18_roi' in md
    assert paths['html'].read_text().count('src="data:image/png;base64,') == 4
    roi_maps = list((tmp_path/'gradcam_outputs_roi'/'resnet18_roi').glob('*.png'))
    test_labels = [int(r['label']) for r in read_rows(tmp_path/'demo_data/synthetic/test.csv')]
    shown = min(6, test_labels.count(0)) + min(2, test_labels.count(1))  # up to 6 Artifact and 2 Clean test images
    assert len(roi_maps) == len(list((tmp_path/'gradcam_outputs'/'resnet18_roi').glob('*.png'))) == shown
    from artifact_fastai.kinds import load_detector
    ens = load_detector(tmp_path/'models/demo/ensemble_mean')
    assert {m.path.name for m in ens.members} == members
    # the abstaining ensemble through `predict`: Unsure is a label, faces are checked because a member crops faces
    for name in ('ensemble_selective', 'ensemble_mean'):
        assert main(['predict', f'models/demo/{name}', 'demo_data/synthetic/test.csv', '--out', f'{name}.csv', '--quiet']) == EXIT_OK
    rows = read_rows(tmp_path/'ensemble_selective.csv')
    assert len(rows) == len(read_rows(tmp_path/'demo_data/synthetic/test.csv')) and {r['label'] for r in rows} <= {'Artifact', 'Clean', 'Unsure'}
    rows = read_rows(tmp_path/'ensemble_mean.csv')
    assert all(r['face_found'] in ('True', 'False') for r in rows)


def test_demo_member_failure_is_reported_and_the_others_are_kept(tmp_path):
    "One member raising must not lose the others: it is listed as failed, the rest are trained; all failing raises."
    from artifact_fastai.experiment import Member, train_members
    def writes(table, out): Path(out).mkdir(parents=True); (Path(out)/'config.json').write_text('{}')
    def oom(table, out): raise MemoryError('out of memory')
    members = [Member('feature_probe', writes), Member('efficientnet_lite0', writes), Member('resnet18', oom),
               Member('anomaly_autoencoder', writes), Member('clip_probe', lambda t, o: 'skipped: no weights')]
    times = {}
    trained, skipped = train_members(None, members, tmp_path, times, quiet=True)
    assert trained == ['feature_probe', 'efficientnet_lite0', 'anomaly_autoencoder']
    assert skipped == ['`resnet18` failed: MemoryError: out of memory', '`clip_probe` skipped: no weights']
    assert 'train resnet18' not in times and 'train efficientnet_lite0' in times
    assert (tmp_path/'efficientnet_lite0'/'config.json').is_file()
    with pytest.raises(RuntimeError, match='no detector could be trained'):
        train_members(None, [Member('resnet18', oom)], tmp_path, {}, quiet=True)


def test_demo_clip_member_never_downloads(monkeypatch, tmp_path):
    "Without cached CLIP weights the demo skips the CLIP probe even when HF_HUB_OFFLINE is not set."
    from artifact_fastai.experiment import train_clip
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path/'empty_hub'))
    why = train_clip(None, tmp_path/'clip', epochs=1, bs=8)
    assert why is not None and 'does not download' in why


def test_demo_notes_describe_how_each_member_was_trained():
    from artifact_fastai.experiment import demo_members, experiment_notes
    members = demo_members(('efficientnet_lite0', 'resnet18'), size=64, epochs=6, bs=32, roi=False)
    names = ['feature_probe', 'efficientnet_lite0', 'resnet18', 'anomaly_autoencoder']
    job = experiment_notes(members, names, [], {}, Path('models/demo'), {'data': 2.0}, 10.0, 0.5)[0]
    assert "`efficientnet_lite0`: fine-tuned from offline ImageNet weights, 6 epochs at 64 px, batch 32, focal loss" in job
    assert "`resnet18`: trained from random initialisation, 6 epochs at 64 px" in job
    assert '`feature_probe`: the `probe` recipe' in job and 'one linear head per backbone' in job
    assert '`anomaly_autoencoder`: trained 12 epochs on Clean training images only' in job
    assert 'clip_probe' not in job  # not trained, not described
    only_probe = experiment_notes(members, ['feature_probe'], [], {}, Path('m'), {}, 1.0, 0.5)[0]
    assert 'focal loss' not in only_probe


def test_check_and_train_read_the_seeds_own_layout_without_options(data, tmp_path, capsys):
    "`train/` and `test/` of `image_<id>_<label>.png` (the seed's data): check names the layout, train needs no option (issue 20)."
    seed_root = tmp_path/'trainee_dataset'
    for split, csvs in (('train', ('train.csv', 'val.csv')), ('test', ('test.csv',))):
        (seed_root/split).mkdir(parents=True)
        for c in csvs:
            for i, r in enumerate(read_rows(data/c)):
                label = r.get('label')
                shutil.copy(data/r['image'], seed_root/split/f"image_{c[:2]}{i:04d}_{label}.png")
    assert main(['check', str(seed_root)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith('layout: split-folders: train/ (labels in file names), test/ (labels in file names)'), out
    assert 'validation = 15% of train/' in out
    model = tmp_path/'m'
    assert main(['train', '--data', str(seed_root), '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--bs', '16',
                 '--no-pretrained', '--out', str(model), '--quiet']) == EXIT_OK
    assert (model/'model.safetensors').is_file()


def test_train_target_precision_sets_the_operating_point_on_val(data, tmp_path):
    "`--target-precision P` chooses the threshold on val for precision >= P and records where it came from (issue 17)."
    from artifact_fastai.core import DetectorConfig
    out = tmp_path/'tp'
    assert main(['train', '--data', str(data), '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--bs', '16',
                 '--no-pretrained', '--target-precision', '0.8', '--out', str(out), '--quiet']) == EXIT_OK
    assert DetectorConfig.from_json(out/'config.json').threshold_source == 'val:target_precision@0.8'
    for bad, msg in ((['--target-precision', '0.8', '--target-recall', '0.9'], 'not both'),
                     (['--target-recall', '1.5'], 'in (0, 1]'),
                     (['--target-recall', '0.9', '--threshold-method', 'youden'], 'contradict')):
        r = subprocess.run(CLI + ['train', '--data', str(data), '--out', str(tmp_path/'x'), *bad], env=ENV, capture_output=True, text=True)
        assert r.returncode == EXIT_USAGE and msg in r.stderr, r.stderr


def test_train_without_options_picks_the_tiled_recipe_for_large_images(tmp_path, capsys):
    "Images of 512 px and more get the 'tiled' recipe by default (the whole image, tile by tile); small ones keep the plain schedule."
    from PIL import Image
    import pandas as pd
    from artifact_fastai.cli import _large_image_recipe
    for side in (600, 64):
        (tmp_path/str(side)).mkdir()
        for i in range(3): Image.new('RGB', (side + 40, side)).save(tmp_path/str(side)/f'{i}.png')
    table = lambda side: pd.DataFrame({'path': [f'{side}/{i}.png' for i in range(3)], 'label': [0, 1, 1], 'split': 'train'}).pipe(
        lambda df: (df.attrs.update(root=tmp_path), df)[1])
    rec = _large_image_recipe(table(600), {'threshold_method': 'target_precision', 'target': 0.85})[0]
    assert (rec.method, rec.threshold_method, rec.target) == ('tiled', 'target_precision', 0.85)
    assert 'median short side 600 px' in capsys.readouterr().err
    assert _large_image_recipe(table(64), {}) is None


def _square_probe_detector():
    "A Lite0 probe detector whose head scores a bright 16-px square on grey (64 px), as in tests/test_interpret_probe.py."
    import torch
    from artifact_fastai.core import DetectorConfig
    from artifact_fastai.detector import Detector
    from artifact_fastai.probe import feature_probe
    try: probe = feature_probe(['efficientnet_lite0'])
    except ValueError as e: pytest.skip(f'no offline Lite0 weights: {e}')
    det = Detector(DetectorConfig(kind='probe', img_size=64, extra={'channels_last': True}), probe)
    x = lambda img: det.normalize(det.transform(img)[None])
    f0, f1 = probe.features(x(_square(0, 0, 0)))[0], probe.features(x(_square(24, 8)))[0]
    with torch.no_grad():
        probe.feature_mean.copy_(f0); probe.feature_std.fill_(1.); probe.head.weight.copy_(torch.stack([f1 - f0, f0 - f1]) / 2); probe.head.bias.zero_()
    return det


def _square(x0, y0, side=16):
    a = np.full((64, 64, 3), 128, np.uint8); a[y0:y0 + side, x0:x0 + side] = 255
    return Image.fromarray(a)


def test_gradcam_reference_of_a_probe(model, tmp_path, monkeypatch):
    import artifact_fastai.kinds
    det = _square_probe_detector()
    monkeypatch.setattr(artifact_fastai.kinds, 'load_detector', lambda folder: det)
    spots, imgs, ref = [(24, 8), (40, 40), (4, 30), (44, 4)], tmp_path/'imgs', tmp_path/'ref'
    imgs.mkdir(); ref.mkdir(); _square(0, 0, 0).save(ref/'grey.png')
    for i, (a, b) in enumerate(spots): _square(a, b).save(imgs/f'{i}.png')
    assert main(['gradcam', 'probe', str(imgs), '--reference', str(ref), '--out', str(tmp_path/'g'), '--quiet']) == EXIT_OK
    rows = pd.read_csv(tmp_path/'g'/'gradcam.csv').sort_values('item')
    assert (rows.method == 'cam').all() and len(rows) == 4
    for (a, b), px, py in zip(spots, rows.peak_x, rows.peak_y):  # on the square or its edge (one stride-4 cell)
        assert a - 4 <= px < a + 20 and b - 4 <= py < b + 20, (a, b, px, py)
    monkeypatch.undo()  # a classifier has no reference map: a usage error naming the kind
    assert main(['gradcam', str(model), str(imgs), '--reference', str(ref), '--out', str(tmp_path/'c'), '--quiet']) == EXIT_USAGE


def test_demo_skips_weightless_archs_only_on_the_synthetic_set(tmp_path, monkeypatch):
    "Synthetic demo: ResNet18 and ConvNeXt-atto without offline weights are skipped with the reason; with --data, or named, they train."
    import artifact_fastai.experiment as ex
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path/'hub')); monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))  # no cached weights
    class Stop(Exception): pass
    def outcome(m):  # 'skipped' when the member declines, 'trains' when it goes on to train (and fails here on no table)
        try: return 'skipped' if m.train(None, tmp_path/'m'/m.name) == ex.NO_WEIGHTS_SKIP else 'other'
        except Exception: return 'trains'
    def fake_run(root, members, *a, **k):
        seen.append({m.name: outcome(m) for m in members if m.name in ('efficientnet_lite0', 'resnet18', 'convnext_atto')}); raise Stop
    monkeypatch.setattr(ex, 'run_experiment', fake_run)
    seen = []
    for kw in (dict(), dict(data='demo_data/synthetic'), dict(archs=('resnet18',))):
        with pytest.raises(Stop): ex.run_demo(n=20, img_size=32, quiet=True, **kw)
    assert seen == [{'efficientnet_lite0': 'trains', 'resnet18': 'skipped', 'convnext_atto': 'skipped'},
                    {'efficientnet_lite0': 'trains', 'resnet18': 'trains', 'convnext_atto': 'trains'},
                    {'resnet18': 'trains'}]

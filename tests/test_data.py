"Data layer: column detection, splits, every bad-input kind named by row and file, oversampling, vocabulary."
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifact_fastai.core import ARTIFACT, CLEAN, VOCAB, parse_label
from artifact_fastai.data import (DatasetError, ImageError, check_dataset, open_image, read_splits,
                                  artifact_dataloaders, split_dataloader)


def _img(path, color=(10, 20, 30), size=(16, 16), seed=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (*size[::-1], 3), dtype=np.uint8) if seed is not None else None
    (Image.fromarray(arr) if arr is not None else Image.new('RGB', size, color)).save(path)
    return path


def _layout(root, n_per_class=4):
    "A tiny valid dataset: distinct random images, both classes in train/val/test."
    rows = {s: [] for s in ('train', 'val', 'test')}
    k = 0
    for s in rows:
        for label in (ARTIFACT, CLEAN):
            for _ in range(n_per_class):
                name = f'images/{s}_{k}.png'; _img(root/name, seed=k); rows[s].append((name, label)); k += 1
    for s, r in rows.items(): pd.DataFrame(r, columns=['image', 'label']).to_csv(root/f'{s}.csv', index=False)
    return root


def _problems(root):
    with pytest.raises(DatasetError) as e: check_dataset(read_splits(root))
    return [str(p) for p in e.value.problems], str(e.value)


def _append(root, split, rows):
    df = pd.read_csv(root/f'{split}.csv', dtype=str)
    pd.concat([df, pd.DataFrame(rows, columns=df.columns)]).to_csv(root/f'{split}.csv', index=False)
    return len(df)  # data rows before: the first appended row is len + 1


def test_labels_and_vocab():
    assert VOCAB[ARTIFACT] == 'Artifact' and VOCAB[CLEAN] == 'Clean'
    assert [parse_label(v) for v in (0, 1, '0', '1', 'Clean', 'ARTIFACT', 'artifact ')] == [0, 1, 0, 1, 1, 0, 0]
    for bad in (2, -1, 'fake', '', None, True):
        with pytest.raises(ValueError): parse_label(bad)


@pytest.mark.parametrize('icol,lcol', [('image', 'label'), ('path', 'target'), ('filename', 'class'), ('File', 'Label')])
def test_column_detection(tmp_path, icol, lcol):
    _img(tmp_path/'a.png', seed=1); _img(tmp_path/'b.png', seed=2)
    for s in ('train', 'val'): pd.DataFrame({icol: ['a.png', 'b.png'], lcol: ['clean', 'Artifact']}).to_csv(tmp_path/f'{s}.csv', index=False)
    df = read_splits(tmp_path)
    assert list(df.label) == [1, 0, 1, 0] and list(df.path) == ['a.png', 'b.png'] * 2


def test_explicit_and_missing_columns(tmp_path):
    _img(tmp_path/'a.png')
    for s in ('train', 'val'): pd.DataFrame({'pic': ['a.png'], 'kind': [1]}).to_csv(tmp_path/f'{s}.csv', index=False)
    with pytest.raises(ValueError, match='cannot find the image column'): read_splits(tmp_path)
    assert list(read_splits(tmp_path, image_col='pic', label_col='kind').path) == ['a.png', 'a.png']


def test_labels_csv_stratified_seeded_split(tmp_path):
    names = [f'i{k}.png' for k in range(200)]
    labels = [ARTIFACT] * 20 + [CLEAN] * 180
    pd.DataFrame({'image': names, 'label': labels}).to_csv(tmp_path/'labels.csv', index=False)
    a, b, c = read_splits(tmp_path, seed=1), read_splits(tmp_path, seed=1), read_splits(tmp_path, seed=2)
    assert list(a.split) == list(b.split) and list(a.split) != list(c.split)
    counts = a.groupby(['split', 'label']).size().unstack()
    assert counts.loc['train'].tolist() == [14, 126] and counts.loc['val'].tolist() == [3, 27] and counts.loc['test'].tolist() == [3, 27]


def test_valid_dataset_passes(tmp_path):
    df, dropped = check_dataset(read_splits(_layout(tmp_path)))
    assert len(df) == 24 and dropped == []


@pytest.mark.parametrize('kind,expect', [
    ('missing', 'file not found'), ('empty', '0 bytes'), ('text', 'not an image'), ('truncated', 'truncated'),
    ('dotdot', 'escapes the data root'), ('absolute', 'escapes the data root'), ('label', "label '7'"),
    ('duplicate', 'duplicate of train.csv row 1')])
def test_each_bad_row_is_named(tmp_path, kind, expect):
    root = _layout(tmp_path)
    big = _img(root/'images/big.png', seed=99, size=(64, 64))
    files = {'missing': 'images/nope.png', 'empty': 'images/empty.png', 'text': 'images/text.png',
             'truncated': 'images/trunc.png', 'dotdot': '../outside.png', 'absolute': str(big), 'label': 'images/lab.png',
             'duplicate': 'images/train_0.png'}
    (root/'images/empty.png').write_bytes(b'')
    (root/'images/text.png').write_text('hello, not a picture')
    (root/'images/trunc.png').write_bytes(big.read_bytes()[:len(big.read_bytes()) // 2])
    _img(tmp_path.parent/'outside.png'); _img(root/'images/lab.png', seed=77)
    row = _append(root, 'train', [(files[kind], '7' if kind == 'label' else '1')]) + 1
    msgs, text = _problems(root)
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f'train.csv row {row}: {files[kind]}: ') and expect in msgs[0] and 'Fix:' in msgs[0]


def test_all_problems_reported_at_once_and_dropped(tmp_path):
    root = _layout(tmp_path)
    (root/'images/empty.png').write_bytes(b'')
    _append(root, 'train', [('images/nope.png', '1'), ('images/empty.png', '0'), ('images/train_1.png', 'x')])
    msgs, text = _problems(root)
    assert len(msgs) == 4   # missing, empty, bad label + duplicate on the same row
    kept, dropped = check_dataset(read_splits(root), drop_bad=True)
    assert len(kept) == 24 and len(dropped) == 4 and kept.label.dtype.kind == 'i'


def test_leakage_by_content(tmp_path):
    root = _layout(tmp_path)
    shutil.copy(root/'images/train_0.png', root/'images/renamed.png')
    row = _append(root, 'test', [('images/renamed.png', '0')]) + 1
    msgs, _ = _problems(root)
    assert len(msgs) == 1 and msgs[0].startswith(f'test.csv row {row}: images/renamed.png') and 'leakage' in msgs[0]


def test_empty_split_and_absent_class(tmp_path):
    root = _layout(tmp_path)
    pd.DataFrame(columns=['image', 'label']).to_csv(root/'test.csv', index=False)
    val = pd.read_csv(root/'val.csv'); val[val.label == CLEAN].to_csv(root/'val.csv', index=False)
    msgs, _ = _problems(root)
    assert any('the test split is empty' in m for m in msgs)
    assert any('no Artifact (label 0) image in the val split' in m for m in msgs)


def test_open_image_modes_and_bomb(tmp_path):
    Image.new('LA', (4, 4), (0, 0)).save(tmp_path/'la.png')
    Image.new('RGBA', (4, 4), (255, 0, 0, 255)).save(tmp_path/'rgba.png')
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(tmp_path/'i16.png')
    assert open_image(tmp_path/'la.png').getpixel((0, 0)) == (255, 255, 255)
    assert open_image(tmp_path/'rgba.png').getpixel((0, 0)) == (255, 0, 0)
    assert open_image(tmp_path/'i16.png').getpixel((0, 0)) == (128, 128, 128)
    _img(tmp_path/'big.png', size=(200, 200))
    with pytest.raises(ImageError, match='decompression bomb'): open_image(tmp_path/'big.png', max_pixels=1000)


def _artifact_share(dls, epochs=30):
    ys = np.concatenate([y.numpy() for _ in range(epochs) for _, y in dls.train])
    return np.mean(ys == ARTIFACT)


def test_oversampling_balances_training_only(synth_root):
    df = read_splits(synth_root)
    true_share = np.mean(df[df.split == 'train'].label == ARTIFACT)
    dls = artifact_dataloaders(synth_root, size=16, bs=16, seed=0)
    assert list(dls.vocab) == list(VOCAB)
    assert abs(_artifact_share(dls) - 0.5) < 0.06
    plain = artifact_dataloaders(synth_root, size=16, bs=16, seed=0, oversample=False)
    assert abs(_artifact_share(plain) - true_share) < 0.06
    # validation: every row once, in order, unweighted
    vy = np.concatenate([y.numpy() for _, y in dls.valid])
    assert list(vy) == list(dls.valid.items.label)
    assert len(split_dataloader(dls, 'test').items) == (df.split == 'test').sum()


def test_custom_weights_and_bad_rows_raise(synth_root, tmp_path):
    dls = artifact_dataloaders(synth_root, size=16, bs=16, seed=0, weights={ARTIFACT: 3.0, CLEAN: 1.0})
    share = _artifact_share(dls)
    df = read_splits(synth_root); tr = df[df.split == 'train']
    n_a, n_c = (tr.label == ARTIFACT).sum(), (tr.label == CLEAN).sum()
    assert abs(share - 3 * n_a / (3 * n_a + n_c)) < 0.06
    root = tmp_path/'copy'; shutil.copytree(synth_root, root)
    _append(root, 'train', [('images/nope.png', '1')])
    with pytest.raises(DatasetError, match='nope.png: file not found'): artifact_dataloaders(root, size=16)
    dls = artifact_dataloaders(root, size=16, drop_bad=True)
    assert 'images/nope.png' not in set(dls.train.items.path)


# --- data layouts (issue 20): class folders, labels in file names, split folders, groups ---------------------------
from artifact_fastai.core import file_hash
from artifact_fastai.data import LayoutError, detect_layout, fold_splits


def _seed_like(root, n_train=32, n_test=8, every=4):
    "The seed's layout: train/ and test/, `image_<id>_<label>.png`, one Artifact in `every` images."
    for i in range(n_train + n_test):
        _img(root/('train' if i < n_train else 'test')/f'image_{i:05d}_{int(i % every != 0)}.png', seed=i)
    return root


def _counts(df):
    return {k: int(v) for k, v in df.groupby(['split', 'label']).size().items()}


def test_seed_layout_reads_file_names_and_carves_val(tmp_path):
    df = read_splits(_seed_like(tmp_path))
    lay = df.attrs['layout']
    assert lay.kind == 'split-folders' and lay.carves_val and df.attrs['splits'] == ['train', 'val', 'test']
    assert 'no val/ folder: validation = 15% of train/, stratified by class, seed 0' in str(lay)
    assert _counts(df) == {('test', 0): 2, ('test', 1): 6, ('train', 0): 7, ('train', 1): 20, ('val', 0): 1, ('val', 1): 4}
    assert set(df[df.split == 'test'].path.str[:5]) == {'test/'}
    assert set(df[df.split != 'test'].path.str[:6]) == {'train/'}          # val is carved from train/ only
    assert df.label.tolist() == [int(p.rsplit('_', 1)[1][0]) for p in df.path]
    assert str(detect_layout(tmp_path)).startswith('split-folders: train/ (labels in file names), test/ (labels in file names)')
    kept, dropped = check_dataset(tmp_path)
    assert len(kept) == 40 and dropped == []


def test_carved_val_is_stratified_and_seeded(tmp_path):
    root = _seed_like(tmp_path, n_train=200, n_test=20, every=10)              # train: 20 Artifact, 180 Clean
    a, b, c = (read_splits(root, seed=s) for s in (1, 1, 2))
    assert list(a.split) == list(b.split) and list(a.split) != list(c.split)
    counts = _counts(a)
    assert (counts[('val', 0)], counts[('val', 1)]) == (3, 27) and (counts[('train', 0)], counts[('train', 1)]) == (17, 153)
    assert (counts[('test', 0)], counts[('test', 1)]) == (2, 18)               # the given test split is untouched
    assert _counts(read_splits(root, valid_pct=0.3))[('val', 0)] == 6


def test_split_folders_with_class_folders_any_case(tmp_path):
    names = {'train': ('Real', 'FAKE'), 'valid': ('1', '0'), 'test': ('clean', 'Artifact')}
    k = 0
    for split, (clean, artifact) in names.items():
        for cls in (clean, artifact):
            for j in range(3): _img(tmp_path/split/cls/('sub' if j == 2 else '')/f'{j}.png', seed=k); k += 1
    df = read_splits(tmp_path)
    assert df.attrs['layout'].kind == 'split-folders' and not df.attrs['layout'].carves_val
    assert _counts(df) == {(s, l): 3 for s in ('train', 'val', 'test') for l in (0, 1)}
    assert 'train/FAKE/sub/2.png' in set(df.path) and set(df[df.label == CLEAN].path.str.split('/').str[1]) == {'Real', '1', 'clean'}
    assert 'valid/ (class folders 0/ = Artifact, 1/ = Clean)' in str(df.attrs['layout'])


def test_class_folders_at_the_root_are_split_by_the_library(tmp_path):
    for i in range(40): _img(tmp_path/('real' if i % 4 else 'fake')/f'{i:03d}.jpg', seed=i)
    (tmp_path/'real'/'notes.txt').write_text('not an image'); _img(tmp_path/'real'/'.hidden.png', seed=99)
    df = read_splits(tmp_path, seed=0)
    assert df.attrs['layout'].kind == 'class-folders' and len(df) == 40
    assert _counts(df) == {('test', 0): 2, ('test', 1): 4, ('train', 0): 6, ('train', 1): 22, ('val', 0): 2, ('val', 1): 4}
    assert list(df.split) == list(read_splits(tmp_path, seed=0).split) != list(read_splits(tmp_path, seed=1).split)


def test_label_pattern(tmp_path):
    for i in range(16): _img(tmp_path/('train' if i < 12 else 'test')/f"{'real' if i % 4 else 'fake'}-{i}.png", seed=i)
    with pytest.raises(LayoutError, match=r'train/: no file name holds a label \(fake-0.png, fake-4.png, fake-8.png, ... \(12 in all\)\)'): read_splits(tmp_path)
    df = read_splits(tmp_path, label_pattern=r'^(?P<label>real|fake)-')
    assert df.label.tolist() == [0 if p.split('/')[1].startswith('fake') else 1 for p in df.path]
    with pytest.raises(ValueError, match='no group capturing the label'): read_splits(tmp_path, label_pattern='real|fake')
    with pytest.raises(ValueError, match='not a valid regular expression'): read_splits(tmp_path, label_pattern='(')


def _ambiguous(tmp_path, kind):
    "A root that is ambiguous in one way; returns (root, kwargs)."
    root, kw = tmp_path/'r', {}
    if kind in ('side_by_side', 'loose', 'unknown_beside'):
        for c in ('real', 'fake'): _img(root/c/'a.png', seed=len(c))
        if kind == 'side_by_side': _img(root/'train'/'x_1.png', seed=5)
        if kind == 'loose': _img(root/'stray.png', seed=6)
        if kind == 'unknown_beside': _img(root/'masks'/'m.png', seed=7)
    elif kind == 'unknown_class':
        _img(root/'train'/'real'/'a.png', seed=1); _img(root/'train'/'cats'/'b.png', seed=2)
    elif kind == 'mixed':
        _img(root/'train'/'real'/'a.png', seed=1); _img(root/'train'/'b_0.png', seed=2)
    elif kind == 'no_label':
        _img(root/'train'/'photo1.png', seed=1); _img(root/'train'/'photo2.png', seed=2)
    elif kind == 'two_val':
        for s in ('train', 'val', 'valid'): _img(root/s/f'{s}_1.png', seed=len(s))
    elif kind == 'no_train':
        _img(root/'test'/'a_1.png', seed=1)
    elif kind == 'unknown_names':
        _img(root/'cats'/'a.png', seed=1); _img(root/'dogs'/'b.png', seed=2)
    elif kind == 'csv_disagrees':
        for c in ('real', 'fake'): _img(root/c/'a.png', seed=len(c))
        pd.DataFrame({'image': ['real/a.png', 'fake/a.png'], 'label': [0, 0]}).to_csv(root/'labels.csv', index=False)
    elif kind in ('pattern_unused', 'group_col_folders'):
        for c in ('real', 'fake'): _img(root/c/'a.png', seed=len(c))
        kw = {'label_pattern': r'_(\d)'} if kind == 'pattern_unused' else {'group_col': 'prompt'}
    return root, kw


@pytest.mark.parametrize('kind,error,expect', [
    ('side_by_side', LayoutError, 'has split folders (train/) and class folders (fake/, real/) side by side. Fix:'),
    ('loose', LayoutError, 'images directly in'), ('unknown_beside', LayoutError, 'masks/ in'),
    ('unknown_class', LayoutError, 'train/cats/ in'), ('mixed', LayoutError, 'train/ holds both images (b_0.png) and folders (real/)'),
    ('no_label', LayoutError, 'train/: no file name holds a label (photo1.png, photo2.png)'),
    ('two_val', LayoutError, 'val/, valid/ are all the val split'), ('no_train', LayoutError, 'but no train/'),
    ('unknown_names', LayoutError, 'cats/, dogs/ in'), ('csv_disagrees', LayoutError, '1 image(s) labelled differently (real/a.png)'),
    ('pattern_unused', ValueError, 'no labels in file names'), ('group_col_folders', ValueError, "group_col='prompt' names a CSV column")])
def test_each_ambiguity_is_a_clear_error(tmp_path, kind, error, expect):
    root, kw = _ambiguous(tmp_path, kind)
    with pytest.raises(error) as e: read_splits(root, **kw)
    assert expect in str(e.value) and 'Fix:' in str(e.value), str(e.value)


def test_csv_beside_agreeing_folders_and_choosing(tmp_path):
    for i in range(12): _img(tmp_path/('real' if i % 2 else 'fake')/f'{i}.png', seed=i)
    folders = read_splits(tmp_path)
    pd.DataFrame({'image': './' + folders.path, 'label': folders.label}).to_csv(tmp_path/'labels.csv', index=False)
    df = read_splits(tmp_path)
    assert df.attrs['layout'].kind == 'labels-csv' and 'agrees: same images, same labels' in str(df.attrs['layout'])
    pd.DataFrame({'image': folders.path[:-1], 'label': folders.label[:-1]}).to_csv(tmp_path/'labels.csv', index=False)
    with pytest.raises(LayoutError, match=r"1 image\(s\) only in class-folders \(real/9.png\).*layout='csv' or layout='folders'"):
        read_splits(tmp_path)
    assert len(read_splits(tmp_path, layout='csv')) == 11 and len(read_splits(tmp_path, layout='folders')) == 12


def test_unreadable_file_name_is_a_named_row_problem(tmp_path):
    root = _seed_like(tmp_path)
    _img(root/'train'/'image_00099_x.png', seed=99)
    with pytest.raises(DatasetError) as e: check_dataset(root)
    msgs = [str(p) for p in e.value.problems]
    assert msgs == [msgs[0]] and msgs[0].startswith("train/: train/image_00099_x.png: no label in the file name ('x' is not")
    assert 'label_pattern' in msgs[0]
    kept, dropped = check_dataset(root, drop_bad=True)
    assert len(kept) == 40 and [p.path for p in dropped] == ['train/image_00099_x.png']


def _three_ways(tmp_path):
    "One set of 30 images written as split CSVs, as split/class folders and with labels in file names."
    roots = {k: tmp_path/k for k in ('csv', 'classes', 'names')}
    rows = {s: [] for s in ('train', 'val', 'test')}
    for i in range(30):
        split, label = ('train', 'train', 'train', 'val', 'test')[i % 5], int(i % 3 != 0)
        _img(roots['csv']/'images'/f'{i}.png', seed=i)
        rows[split].append((f'images/{i}.png', ('Clean', 'artifact')[1 - label] if i % 2 else label))
        shutil.copy(roots['csv']/'images'/f'{i}.png', _mk(roots['classes']/split/('real', 'fake')[1 - label])/f'{i}.png')
        shutil.copy(roots['csv']/'images'/f'{i}.png', _mk(roots['names']/split)/f'img_{i}_{label}.png')
    for s, r in rows.items(): pd.DataFrame(r, columns=['file', 'target']).to_csv(roots['csv']/f'{s}.csv', index=False)
    return roots


def _mk(p):
    p.mkdir(parents=True, exist_ok=True)
    return p


def test_one_set_three_ways_gives_the_same_table(tmp_path):
    tables = {k: check_dataset(root)[0] for k, root in _three_ways(tmp_path).items()}
    assert [t.attrs['layout'].kind for t in tables.values()] == ['split-csv', 'split-folders', 'split-folders']
    by_content = {k: t.assign(h=[file_hash(t.attrs['root']/p) for p in t.path])[['h', 'label', 'split']]
                     .sort_values('h').reset_index(drop=True) for k, t in tables.items()}
    pd.testing.assert_frame_equal(by_content['csv'], by_content['classes'])
    pd.testing.assert_frame_equal(by_content['csv'], by_content['names'])
    assert len(by_content['csv']) == 30 and by_content['csv'].label.sum() == 20
    assert list(tables['csv'].columns) == list(tables['names'].columns)


def _grouped_csv(root, n_groups=60, seed=0):
    "labels.csv of groups of 1-5 images; a group mostly shares its label; column `prompt` names the group."
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        base = int(rng.random() > 0.3)
        for k in range(int(rng.integers(1, 6))): rows.append((f'images/{g}_{k}.png', base if rng.random() > 0.1 else 1 - base, f'p{g}'))
    df = pd.DataFrame(rows, columns=['image', 'label', 'prompt'])
    root.mkdir(parents=True, exist_ok=True); df.to_csv(root/'labels.csv', index=False)
    return df


def test_grouped_split_keeps_groups_whole_and_proportions(tmp_path):
    raw = _grouped_csv(tmp_path)
    df = read_splits(tmp_path, group_col='prompt', seed=3)
    assert df.groupby('group').split.nunique().max() == 1
    assert '60 groups from column' in str(df.attrs['layout'])
    share = df.groupby('split').label.mean()
    assert (abs(share - raw.label.mean()) < 0.05).all(), share
    frac = df.split.value_counts(normalize=True)
    assert abs(frac['train'] - 0.7) < 0.05 and abs(frac['val'] - 0.15) < 0.05 and abs(frac['test'] - 0.15) < 0.05, frac
    assert list(df.split) == list(read_splits(tmp_path, group_col='prompt', seed=3).split)
    assert list(read_splits(tmp_path, seed=3).split) == list(df.split)        # a `prompt` column is used by itself
    raw.rename(columns={'prompt': 'source'}).to_csv(tmp_path/'labels.csv', index=False)
    plain = read_splits(tmp_path, seed=3).assign(group=raw.prompt)
    assert plain.groupby('group').split.nunique().max() > 1                     # without groups, groups are cut
    raw.rename(columns={'prompt': 'Group'}).to_csv(tmp_path/'labels.csv', index=False)
    assert list(read_splits(tmp_path, seed=3).split) == list(df.split)        # a `group` column is used by itself


def test_grouped_carved_val_and_folds(tmp_path):
    for g in range(30):
        for k in range(1 + g % 3): _img(tmp_path/'train'/f'p{g}_{k}_{int(g % 4 != 0)}.png', seed=100 * g + k)
    _img(tmp_path/'test'/'q_0_0.png', seed=9999); _img(tmp_path/'test'/'q_1_1.png', seed=9998)
    df = read_splits(tmp_path, label_pattern=r'^(?P<group>p\d+|q)_\d+_(?P<label>\d)\.png$')
    assert df.attrs['layout'].carves_val and df[df.split == 'train'].groupby('group').split.nunique().max() == 1
    train_groups, val_groups = (set(df[df.split == s].group) for s in ('train', 'val'))
    assert val_groups and not train_groups & val_groups
    folds = [fold_splits(df[df.split != 'test'].reset_index(drop=True), 5, k, seed=0) for k in range(5)]
    assert all(f.groupby('group').split.nunique().max() == 1 for f in folds)
    tested = np.concatenate([f.index[f.split == 'test'] for f in folds])
    assert sorted(tested.tolist()) == list(range(len(folds[0])))
    for f in folds: assert 0.1 <= (f[f.split == 'test'].label == ARTIFACT).mean() <= 0.45


def test_check_reports_groups_that_straddle_given_splits(tmp_path):
    root = _layout(tmp_path)
    for s in ('train', 'val', 'test'):
        t = pd.read_csv(root/f'{s}.csv'); t['group'] = [f'{s}{i}' for i in range(len(t))]; t.to_csv(root/f'{s}.csv', index=False)
    assert len(check_dataset(root)[0]) == 24
    t = pd.read_csv(root/'test.csv'); t.loc[2, 'group'] = 'train0'; t.to_csv(root/'test.csv', index=False)
    with pytest.raises(DatasetError) as e: check_dataset(root)
    msgs = [str(p) for p in e.value.problems]
    assert len(msgs) == 1 and msgs[0].startswith('test.csv row 3: images/test_18.png: group ') and 'straddles splits' in msgs[0]
    assert len(check_dataset(root, check_groups=False)[0]) == 24
    assert [p.row for p in check_dataset(root, drop_bad=True)[1]] == [3]


def test_check_dataset_takes_a_data_root(tmp_path):
    "Papercut of issue 16: check_dataset('data_root') raised AttributeError ('PosixPath' has no 'attrs')."
    root = _layout(tmp_path)
    a, b = check_dataset(root), check_dataset(str(root))
    pd.testing.assert_frame_equal(a[0], check_dataset(read_splits(root))[0])
    assert a[1] == b[1] == [] and len(a[0]) == 24
    with pytest.raises(TypeError, match='used only when `check_dataset` is given a data root'): check_dataset(read_splits(root), seed=1)
    bare = read_splits(root); bare.attrs = {}
    with pytest.raises(ValueError, match=r"no `attrs\['root'\]`"): check_dataset(bare)
    with pytest.raises(FileNotFoundError, match='does not exist'): check_dataset(tmp_path/'nowhere')


def test_dataloaders_from_the_seed_layout(tmp_path):
    dls = artifact_dataloaders(_seed_like(tmp_path), size=8, bs=4, seed=0)
    assert len(dls.train.items) == 27 and len(dls.valid.items) == 5 and dls.split_df.attrs['layout'].kind == 'split-folders'
    assert len(split_dataloader(dls, 'test').items) == 8


def test_faces_sample_csv_agrees_with_its_class_folders(faces_root):
    df = read_splits(faces_root)
    assert df.attrs['layout'].kind == 'labels-csv' and 'agrees' in str(df.attrs['layout'])
    assert df.split.value_counts().to_dict() == {'train': 700, 'val': 150, 'test': 150}
    folders = read_splits(faces_root, layout='folders')
    assert dict(zip(folders.path, folders.label)) == dict(zip(df.path, df.label))

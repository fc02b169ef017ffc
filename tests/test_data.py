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

"Out-of-fold logits (all outputs) of each tiled member separately, same folds as bench_portrait; saved for fusion experiments."
import sys, numpy as np, pandas as pd, torch
sys.path.insert(0, 'bench')
import bench_portrait as bp
from artifact_fastai.data import check_dataset, read_splits
from artifact_fastai.tiles import TiledSettings, read_categories, category_names, category_targets, fit_member_heads, heads_logits
torch.set_num_threads(1)
df, _ = check_dataset(read_splits('../shared/data/portrait-qa-dev')); df = df.reset_index(drop=True)
root = df.attrs['root']; files = [f'{root}/{p}' for p in df.path]
cats, groups = read_categories(df), read_categories(df, 'prompt').to_numpy()
y = df.label.astype(int).to_numpy(); folds = list(bp.group_folds(y, groups))
names = category_names(cats, y); T = category_targets(y, cats, names)
members = dict(l768=bp.L0_768, l384=bp.L0_384, text=bp.TEXT_768, hand=bp.HAND_768)
feats = {k: bp.member_features(m, files, bp.RESULTS/'portrait_cache')[0] for k, m in members.items()}
s = TiledSettings()
out = {k: np.zeros((len(y), T.shape[1])) for k in members}   # test-fold logits
val = {k: np.full((len(folds), len(y), T.shape[1]), np.nan) for k in members}  # val logits per fold
for f, (tr, va, te) in enumerate(folds):
    for k in members:
        h = fit_member_heads([feats[k]], T, tr, va, s)[0]
        z = heads_logits([h], [feats[k]])
        out[k][te] = z[te]; val[k][f, va] = z[va]
    print('fold', f, flush=True)
np.savez('bench/results/oof.npz', y=y, names=np.array(names), cats=np.array(cats.fillna('').tolist()),
         folds=np.array([np.concatenate([[i] * 0]) for i in range(1)], dtype=object), **{f'test_{k}': v for k, v in out.items()}, **{f'val_{k}': v for k, v in val.items()})
import pickle; pickle.dump(folds, open('bench/results/folds.pkl', 'wb'))
print('done')

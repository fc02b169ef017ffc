import pickle, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
d = np.load('bench/results/oof.npz', allow_pickle=True); folds = pickle.load(open('bench/results/folds.pkl', 'rb'))
y = d['y']; art = (y == 0); names = list(d['names']); print(names)
Z = {k: d[f'test_{k}'] for k in ('l768', 'l384', 'text', 'hand')}
def rep(name, z):
    aucs = [roc_auc_score(art[te], z[te]) for _, _, te in folds]
    print(f'{name:50s} AUC {np.mean(aucs):.3f} ({np.std(aucs, ddof=1):.3f}) AP {np.mean([average_precision_score(art[te], z[te]) for _, _, te in folds]):.3f}')
lse = lambda a, ax=0: np.log(np.mean(np.exp(a), ax))
ks = ['l768', 'l384', 'text', 'hand']
A = np.stack([Z[k][:, 0] for k in ks])
rep('mean artifact', A.mean(0)); rep('lse artifact', lse(A))
C = np.stack([Z[k][:, 1:] for k in ks])   # members, N, cats
for j, n in enumerate(names):
    rep(f'cat {n} lse over members', lse(C[:, :, j]))
rep('lse over members of max cat', lse(C.max(2)))
rep('lse over members and cats', lse(np.concatenate([C[:, :, j] for j in range(C.shape[2])])))
rep('lse over all (artifact + cats)', lse(np.concatenate([A] + [C[:, :, j] for j in range(C.shape[2])])))
rep('lse artifact + lse cats', lse(A) + 0.5 * lse(np.concatenate([C[:, :, j] for j in range(C.shape[2])])))
for r in (2, 5):
    rep(f'sharper lse r={r} artifact', lse(r * A) / r)

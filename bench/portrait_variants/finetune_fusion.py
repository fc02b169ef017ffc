"Does a fine-tuned Lite0 (bench_portrait_baselines.py --save-oof) add to the tiled members' late fusion? Pooled out-of-fold logits, same folds."
import pickle, sys, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
d = np.load('bench/results/oof.npz', allow_pickle=True); folds = pickle.load(open('bench/results/folds.pkl', 'rb'))
ft = np.load(sys.argv[1] if len(sys.argv) > 1 else 'bench/results/oof_plain384.npz')
y = d['y']; art = y == 0; assert (ft['y'] == y).all()
p = np.clip(ft['plain'], 1e-6, 1 - 1e-6); z_ft = np.log(p / (1 - p))          # P(Artifact) -> Artifact logit
Z = {k: d[f'test_{k}'][:, 0] for k in ('l768', 'l384', 'text', 'hand')}
def rep(name, z):
    aucs = [roc_auc_score(art[te], z[te]) for _, _, te in folds]
    print(f'| {name} | {np.mean(aucs):.3f} ({np.std(aucs, ddof=1):.3f}) | {np.mean([average_precision_score(art[te], z[te]) for _, _, te in folds]):.3f} |')
lse = lambda a: np.log(np.mean(np.exp(a), 0))
print('| fusion | AUC | AP |\n| --- | --- | --- |')
rep('fine-tuned Lite0 alone', z_ft)
base = [Z[k] for k in ('l768', 'l384', 'hand')]; text = base + [Z['text']]
rep('default members (l768, l384, hand), mean', np.mean(base, 0)); rep('default members + fine-tuned, mean', np.mean(base + [z_ft], 0))
rep('tiled_text members, lse', lse(np.stack(text))); rep('tiled_text members + fine-tuned, lse', lse(np.stack(text + [z_ft])))

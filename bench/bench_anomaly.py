"""Does training the anomaly autoencoder matter? (issue 5) One command:

    .venv/bin/python bench/bench_anomaly.py [--epochs 0 3 10] [--scores periodic error]

Trains `anomaly_learner` on the Clean images of `make_synthetic_dataset(n=400, size=64, seed=0, style='traces')` (all five defect
kinds, half Artifact) for 0 (untrained), 3 and 10 one-cycle epochs with each score, and prints the val and test ROC
AUC of the raw score (Artifact positive). If the untrained row matches the trained ones, the score's separation
comes from the fixed high-pass/spectral statistic, not from what the autoencoder learned.
"""
import argparse, tempfile, warnings
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--epochs', nargs='+', type=int, default=[0, 3, 10])
    ap.add_argument('--scores', nargs='+', default=['periodic', 'error'])
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    from sklearn.metrics import roc_auc_score
    from artifact_fastai.core import seed_everything, ARTIFACT
    from artifact_fastai.synth import make_synthetic_dataset
    from artifact_fastai.data import artifact_dataloaders, split_dataloader
    from artifact_fastai.anomaly import anomaly_learner, dataloader_scores
    root = make_synthetic_dataset(Path(tempfile.mkdtemp())/'synth', n=400, artifact_frac=0.5, size=64, seed=0, style='traces')
    print('| score | epochs | val AUC | test AUC |\n|---|---|---|---|')
    for score in args.scores:
        for epochs in args.epochs:
            seed_everything(0)
            dls = artifact_dataloaders(root, size=64, bs=16, oversample=False, augment=True, check=False)
            learn = anomaly_learner(dls, score=score)
            if epochs:
                with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
            cb = learn.anomaly_autoencoder
            aucs = [roc_auc_score(y == ARTIFACT, s) for s, y in
                    (dataloader_scores(learn.model, split_dataloader(dls, split), cb.window, cb.border, score) for split in ('val', 'test'))]
            print(f'| {score} | {epochs} | {aucs[0]:.3f} | {aucs[1]:.3f} |', flush=True)


if __name__ == '__main__':
    main()

"""Copy a seeded class subsample of a labelled data root into a new root (e.g. the usual 1 Artifact : 9 Clean).

    .venv/bin/python bench/make_subsample.py ../shared/data/faces140k-sample /tmp/faces19 --artifact 50 --clean 450

Files are copied, not linked: `check_dataset` refuses paths that leave the data root through symlinks. The images
stay outside the project; only their labels.csv (`image,label`) is written beside them.
"""
import argparse, shutil
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('src', type=Path); ap.add_argument('dest', type=Path)
    ap.add_argument('--artifact', type=int, default=50); ap.add_argument('--clean', type=int, default=450)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    import pandas as pd
    df = pd.read_csv(a.src/'labels.csv')
    if a.dest.exists() and any(a.dest.iterdir()): raise SystemExit(f"{a.dest} is not empty; choose a new folder")
    parts = [df[df.label == 0].sample(a.artifact, random_state=a.seed), df[df.label == 1].sample(a.clean, random_state=a.seed)]
    out = pd.concat(parts[::-1]).sample(frac=1, random_state=a.seed)
    for p in out.image: (a.dest/p).parent.mkdir(parents=True, exist_ok=True); shutil.copy(a.src/p, a.dest/p)
    out.to_csv(a.dest/'labels.csv', index=False)
    print(f"{a.dest}: {a.artifact} Artifact + {a.clean} Clean images, seed {a.seed}")


if __name__ == '__main__':
    main()

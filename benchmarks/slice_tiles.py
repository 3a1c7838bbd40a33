"""Copy part of a Kaggle-layout folder's labelled tiles into a new one (for a quick run elsewhere).

    python benchmarks/slice_tiles.py ../shared/data/tgs-public gpu_data --train 1200

The first ``--train`` labelled ids in train.csv order, their images and masks, their rows of
train.csv and depths.csv; no test tiles. The source folder is only read.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=1200)
    args = ap.parse_args(argv)
    src, out = Path(args.source), Path(args.out)
    if out.exists():
        raise SystemExit(f"{out}: already exists; remove it or choose another folder")
    train = pd.read_csv(src / "train.csv", dtype=str, keep_default_na=False).head(args.train)
    depths = pd.read_csv(src / "depths.csv", dtype={"id": str})
    for sub in ("images", "masks"):
        (out / "train" / sub).mkdir(parents=True)
        for i in train["id"]:
            shutil.copy2(src / "train" / sub / f"{i}.png", out / "train" / sub / f"{i}.png")
    train.to_csv(out / "train.csv", index=False)
    depths[depths["id"].isin(set(train["id"]))].to_csv(out / "depths.csv", index=False)
    print(f"{out}: {len(train)} labelled tiles")


if __name__ == "__main__":
    main()

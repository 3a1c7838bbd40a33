"""Speed of the foundation: scoring 22,000 masks, and reading a Kaggle-layout folder.

python benchmarks/foundation_bench.py                 # metric only
python benchmarks/foundation_bench.py DATA_DIR        # also read and validate DATA_DIR
"""

from __future__ import annotations

import sys
import time

import numpy as np

from saltseg import metric
from saltseg.data.kaggle import read_kaggle


def main() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random((22000, 101, 101)) < 0.3
    pred = rng.random((22000, 101, 101)) < 0.3
    start = time.perf_counter()
    metric.score(truth, pred)
    print(f"metric: 22,000 masks scored in {time.perf_counter() - start:.2f} s")
    if len(sys.argv) > 1:
        start = time.perf_counter()
        tiles = read_kaggle(sys.argv[1])
        seconds = time.perf_counter() - start
        print(f"reader: {len(tiles.table)} tiles read and validated in {seconds:.1f} s")


if __name__ == "__main__":
    main()

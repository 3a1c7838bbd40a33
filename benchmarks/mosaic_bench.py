"""Benchmark mosaic assembly: seconds, peak memory and accuracy on a synthetic set.

Usage:
    python benchmarks/mosaic_bench.py [--synth-dir DIR] [--tiles 22000] [--threads 2]

Without --synth-dir a synthetic set of about --tiles tiles (sections of 6 x 21 tiles) is
generated into a temporary folder first (a few minutes, not timed). Peak memory: the process's
peak RSS (resource.getrusage) before and after assembly, and the assembly's own peak
allocation (tracemalloc). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def _limit_threads(n: int) -> None:
    # Must happen before numpy loads its BLAS.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth-dir", type=Path, help="existing saltseg.synth output folder")
    ap.add_argument(
        "--tiles", type=int, default=22000, help="tiles to generate without --synth-dir"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads")
    args = ap.parse_args(argv)
    _limit_threads(args.threads)

    import logging

    import numpy as np

    from saltseg.data.kaggle import read_tiles
    from saltseg.mosaic.assemble import assemble, summarize
    from saltseg.mosaic.evaluate import evaluate
    from saltseg.mosaic.layout import read_truth_layout
    from saltseg.synth.generate import generate

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="mosaic_bench_") as tmp:
        synth_dir = args.synth_dir
        if synth_dir is None:
            rows, cols = 6, 21
            sections = -(-args.tiles // (rows * cols))
            synth_dir = Path(tmp) / "synth"
            generate(
                synth_dir,
                seed=args.seed,
                sections=sections,
                rows=rows,
                cols=cols,
                contact_sheet=False,
            )
        ts = read_tiles(synth_dir)
        truth = read_truth_layout(synth_dir / "truth" / "layout.csv")
        ids = ts.table["id"].astype(str)
        images = np.ascontiguousarray(ts.images)
        peak_before = _peak_mib()
        # tracemalloc sees numpy's buffers too: the assembly's own peak, without the data read.
        tracemalloc.start()
        started = time.perf_counter()
        layout = assemble(images, ids)
        seconds = time.perf_counter() - started
        assembly_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        peak_after = _peak_mib()
        result = evaluate(layout, truth, unlinkable_ids=ids[ts.table["blank"].to_numpy()])
    wrong = result.pop("wrong_pairs")
    report = {
        "synth_dir": str(args.synth_dir) if args.synth_dir else f"generated (seed {args.seed})",
        "tiles": int(len(ids)),
        "threads": args.threads,
        "assemble_seconds": round(seconds, 2),
        "peak_rss_mib_before_assembly": round(peak_before),
        "peak_rss_mib_after_assembly": round(peak_after),
        "assembly_peak_alloc_mib": round(assembly_peak),
        "summary": summarize(layout),
        "evaluation": {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()},
        "wrong_pairs_first": [list(w) for w in wrong[:10]],
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

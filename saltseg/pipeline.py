"""Workflow steps that connect data files: what the thin scripts in workflow/scripts call."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from saltseg import data
from saltseg.atomic import atomic_path, write_json
from saltseg.errors import SaltsegError

logger = logging.getLogger(__name__)


def prepare_data(source: str | os.PathLike, out_dir: str | os.PathLike, hint: str = "") -> dict:
    """Read and validate a Kaggle-layout folder; cache it as arrays plus a table in ``out_dir``."""
    source = Path(source)
    if not source.is_dir():
        raise SaltsegError(
            f"{source}: data folder not found; {hint}" if hint else f"{source}: not found"
        )
    tiles = data.read_kaggle(source)
    data.save_tileset(tiles, out_dir)
    summary = data.summary(tiles)
    logger.info("prepared %s", summary)
    return summary


def make_submission(
    masks_path: str | os.PathLike,
    data_dir: str | os.PathLike,
    csv_path: str | os.PathLike,
    score_path: str | os.PathLike,
    truth_dir: str | os.PathLike | None = None,
) -> dict:
    """Write the submission for every test id; score it when the test truth is known."""
    from saltseg.ids import take
    from saltseg.masks_io import load_masks
    from saltseg.submission import score_files, write_submission

    table = data.load_tileset(data_dir).table
    test_ids = table.loc[table["split"] == "test", "id"].tolist()
    if not test_ids:
        raise SaltsegError(f"{data_dir}: no test tiles, so nothing to submit")
    ids, masks = load_masks(masks_path)
    write_submission(
        test_ids, take(masks_path, ids, masks, test_ids), csv_path, expected_ids=test_ids
    )
    if truth_dir is not None:
        result = score_files(csv_path, Path(truth_dir) / "truth" / "test.csv")
        text = "\n".join(
            [f"test score: {result['score']:.4f} on {result['images']} images"]
            + [f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in result.items()]
        )
    else:
        result = {"score": None, "images": len(test_ids)}
        text = (
            f"test truth unknown: submit {csv_path} to Kaggle to score its {len(test_ids)} images"
        )
    with atomic_path(score_path) as tmp:
        tmp.write_text(text + "\n")
    logger.info("%s", text.splitlines()[0])
    return result


def build_mosaic(
    data_dir: str | os.PathLike,
    layout_path: str | os.PathLike,
    summary_path: str | os.PathLike,
    options: dict | None = None,
) -> dict:
    """Assemble all train and test tiles into mosaics; write the layout and a summary."""
    from saltseg.mosaic import assemble, save_layout, summarize

    tiles = data.load_tileset(data_dir)
    layout = assemble(np.asarray(tiles.images), tiles.table["id"].tolist(), **(options or {}))
    summary = summarize(layout)
    save_layout(layout, layout_path)
    write_json(summary_path, summary)
    logger.info("mosaics: %s", summary)
    return summary


def plot_mosaics(
    data_dir: str | os.PathLike,
    layout_path: str | os.PathLike,
    masks_path: str | os.PathLike,
    out_png: str | os.PathLike,
    n: int = 4,
) -> None:
    """Picture of the largest mosaics with train masks and post-processed test masks."""
    from saltseg.masks_io import load_masks
    from saltseg.mosaic import read_layout
    from saltseg.mosaic_plot import plot_mosaics as plot

    tiles = data.load_tileset(data_dir)
    ids = tiles.table["id"].to_numpy()
    train = tiles.table["split"].eq("train").to_numpy()
    test_ids, test_masks = load_masks(masks_path)
    plot(
        read_layout(layout_path),
        ids,
        np.asarray(tiles.images),
        dict(zip(ids[train], tiles.masks[train], strict=True)),
        dict(zip(test_ids, test_masks, strict=True)),
        out_png,
        n=n,
    )

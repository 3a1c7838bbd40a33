"""Steps of workflow/rules/bundle.smk and ``saltseg predict``: the model bundle, and masks for
new tiles from it."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from saltseg.bundle.manifest import Member, write_manifest
from saltseg.bundle.predict import GREY_FALLBACK, predict_with_bundle
from saltseg.data.folder import read_tile_folder
from saltseg.data.tileset import blank_tiles, load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_dir
from saltseg.io.probs import read_classifier_threshold, save_probs
from saltseg.io.submission import write_submission
from saltseg.postprocess import PostprocessConfig
from saltseg.steps.blend import resolve_oof_settings

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike
# No mosaic rules: new tiles have no mosaic.
POSTPROCESS_KEYS = ("empty_below", "min_component", "blank_empty", "all_salt_empty")


def export_bundle(
    checkpoints: Sequence[PathLike],
    oofs: Sequence[PathLike],
    scores: PathLike,
    tiles: PathLike,
    bundle: PathLike,
    members: Sequence[Mapping],
    postprocess: Mapping | None = None,
) -> dict:
    """Copy the final blend's fold checkpoints into ``bundle`` with its manifest.

    ``members`` (in the order of ``checkpoints``, each with ``folds`` checkpoints): stage,
    model, weight in the final blend, prediction settings. ``oofs``: the fold models' OOF
    predictions, in the same order, which carry the image-head threshold each fold used (a
    classifier threshold of "oof" is bundled as these per-fold values).
    """
    cfg = resolve_oof_settings(PostprocessConfig.parse(postprocess, "postprocess"), scores)
    threshold = float(cfg.threshold)
    if not sum(int(m["folds"]) for m in members) == len(checkpoints) == len(oofs):
        raise SaltsegError(f"{bundle}: {len(checkpoints)} checkpoints, {len(oofs)} OOF files "
                           f"for members {members}")  # fmt: skip
    tileset = load_tileset(tiles)
    depth_fill = tileset.depth_fill()  # what tiles without a depth get in the run
    out, start = [], 0
    with atomic_dir(bundle) as tmp:
        for m in members:
            n = int(m["folds"])
            folds = []
            for k, source in enumerate(checkpoints[start : start + n]):
                rel = f"models/{m['stage']}/{m['model']}/fold{k}.pt"
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, tmp / rel)
                folds.append(rel)
            predict = dict(m.get("predict") or {})
            if predict.get("classifier_threshold") == "oof":
                # Measured per fold on its OOF tiles during the run: each fold keeps its own.
                predict["classifier_threshold"] = [
                    read_classifier_threshold(p) for p in oofs[start : start + n]
                ]
            start += n
            out.append(Member(m["stage"], m["model"], float(m["weight"]), tuple(folds), predict))
        manifest = write_manifest(
            tmp,
            out,
            threshold=threshold,
            postprocess={k: getattr(cfg, k) for k in POSTPROCESS_KEYS},
            oof_scores=pd.read_csv(scores).to_dict(orient="records"),
            extra={"depth_fill": depth_fill, "grey": grey_statistics(tileset.images)},
        )
    logger.info("bundle %s: %d members, threshold %.2f", bundle, len(out), threshold)
    return manifest


def grey_statistics(images: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of the grey levels of the non-blank tiles ``images``: what
    ``saltseg predict-section`` maps a section's amplitudes to."""
    pixels = np.asarray(images)[~blank_tiles(images)]
    if pixels.size == 0:
        return dict(GREY_FALLBACK)
    return {"mean": round(float(pixels.mean()), 3), "std": round(float(pixels.std()), 3)}


def predict_tiles(
    bundle: PathLike,
    source: PathLike,
    out_dir: PathLike,
    *,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    batch_size: int | None = None,
    compile: bool | None = None,
) -> dict:
    """``saltseg predict``: masks for the tiles of ``source`` (a folder of PNGs, a Kaggle-layout
    folder's test/images, or an .npy stack) into ``out_dir``: ``masks/<id>.png`` (0/255),
    ``submission.csv`` (id,rle_mask) and ``probabilities.npz`` (ids, uint8 probabilities).
    ``compile``: torch.compile the networks (None: as the run's ``predict.compile`` says)."""
    ids, images = read_tile_folder(source)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SaltsegError(f"{out_dir}: exists and is not empty; choose a new folder")
    probs, masks = predict_with_bundle(
        bundle, images, device=device, threads=threads, precision=precision,
        batch_size=batch_size, compile=compile,
    )  # fmt: skip
    with atomic_dir(out_dir) as tmp:
        (tmp / "masks").mkdir()
        for tile_id, mask in zip(ids, masks, strict=True):
            if not cv2.imwrite(str(tmp / "masks" / f"{tile_id}.png"), mask.astype(np.uint8) * 255):
                raise SaltsegError(f"{out_dir}: could not write the mask of {tile_id}")
        write_submission(ids, masks, tmp / "submission.csv")
        save_probs(tmp / "probabilities.npz", ids, probs)
    salt = masks.reshape(len(masks), -1).any(axis=1)
    return {"tiles": int(len(ids)), "with_salt": int(salt.sum()), "out_dir": str(out_dir)}


def predict_new_tiles(
    bundle: PathLike,
    source: PathLike,
    folder: PathLike,
    *,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> dict:
    """The rule of ``snakemake predict``: :func:`predict_tiles` of the config's
    ``predict.source`` with the run's bundle into ``folder``."""
    return predict_tiles(
        bundle, source, folder, device=device, threads=threads, precision=precision
    )

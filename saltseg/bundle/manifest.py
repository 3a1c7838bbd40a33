"""The bundle folder: fold checkpoints of the final blend and ``bundle.json``, its manifest.

Layout::

    bundle.json                       format, versions, members, threshold, post-processing, OOF
    models/<stage>/<model>/fold<k>.pt  the fold checkpoints, as training wrote them

Each member is one model family of one stage with its weight in the final blend (a stage's
weight spread over its models by the stage's blend) and its prediction settings (TTA,
snapshots, image-head threshold). Predicting with a bundle averages each member's folds, blends
the members with their weights, thresholds and post-processes, as the workflow does for its
test tiles (without the mosaic rules, which need the competition's tile set).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saltseg import __version__
from saltseg.blend import normalise_weights
from saltseg.errors import SaltsegError

FORMAT = 1
MANIFEST = "bundle.json"
PathLike = str | os.PathLike


@dataclass(frozen=True)
class Member:
    """A model family's fold checkpoints (paths inside the bundle) and its blend weight."""

    stage: str
    model: str
    weight: float
    folds: tuple[str, ...]
    predict: dict


def member_weights(
    final: Mapping[str, float], stages: Mapping[str, Mapping[str, float]]
) -> list[tuple[str, str, float]]:
    """(stage, model, weight) of every model in the final blend, weights summing to 1.

    ``final`` is ``final.blend`` (a stage's blend "stage2" or one model "stage3/b"); ``stages``
    each stage's model weights (its ``blend``).
    """
    names = list(final)
    top = normalise_weights([final[n] for n in names], "final.blend")
    out: dict[tuple[str, str], float] = {}
    for name, w in zip(names, top, strict=True):
        stage, _, model = name.partition("/")
        if model:
            parts = {model: 1.0}
        else:
            models = list(stages[stage])
            inner = normalise_weights([stages[stage][m] for m in models], f"{stage}.blend")
            parts = dict(zip(models, inner, strict=True))
        for m, wm in parts.items():
            out[(stage, m)] = out.get((stage, m), 0.0) + float(w * wm)
    return [(s, m, w) for (s, m), w in out.items() if w > 0]


def write_manifest(
    folder: PathLike,
    members: Sequence[Member],
    *,
    threshold: float,
    postprocess: Mapping[str, Any],
    oof_scores: list[dict],
    extra: Mapping[str, Any] | None = None,
) -> dict:
    import torch  # only for its version

    manifest = {
        "format": FORMAT,
        "saltseg": __version__,
        "torch": torch.__version__,
        "members": [
            {"stage": m.stage, "model": m.model, "weight": m.weight, "folds": list(m.folds),
             "predict": m.predict}
            for m in members
        ],
        "threshold": float(threshold),
        "postprocess": dict(postprocess),
        "oof_scores": oof_scores,
        **(extra or {}),
    }  # fmt: skip
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder: PathLike) -> tuple[dict, list[Member]]:
    """The manifest and its members; one-line SaltsegError for anything that is not a bundle
    of this format (another saltseg version's, a corrupted or incomplete one)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise SaltsegError(f"{folder}: not a model bundle (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SaltsegError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise SaltsegError(
            f"{path}: bundle format {got!r} from saltseg {manifest.get('saltseg', '?')}; "
            f"this saltseg ({__version__}) reads format {FORMAT}"
        )
    try:
        members = [
            Member(
                m["stage"], m["model"], float(m["weight"]), tuple(m["folds"]), dict(m["predict"])
            )
            for m in manifest["members"]
        ]
        float(manifest["threshold"])
        dict(manifest["postprocess"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SaltsegError(f"{path}: incomplete manifest ({exc!r})") from None
    if not members:
        raise SaltsegError(f"{path}: the bundle has no models")
    for m in members:
        for rel in m.folds:
            if not (folder / rel).is_file():
                raise SaltsegError(f"{folder / rel}: missing from the bundle")
    return manifest, members

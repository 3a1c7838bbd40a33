"""Checkpoint files: {"snapshots": {name: state_dict}, "spec": spec dict, "in_channels": int}.

Snapshot names: "best" (best validation metric), "final", and "cycle<phase>_<k>" at the end of the
k-th cosine cycle of phase number <phase> (both 1-based).
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.nn.spec import SNAPSHOT_SETS, ModelSpec, parse_snapshots

logger = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    path: Path
    snapshots: dict[str, dict[str, torch.Tensor]]
    spec: ModelSpec
    in_channels: int

    def select(self, selection: str | list[str]) -> list[str]:
        """Snapshot names for best | final | cycles | all | ema | a snapshot name | [names]."""
        if isinstance(selection, str) and selection not in SNAPSHOT_SETS:
            selection = [selection]
        try:
            selection = parse_snapshots(selection)
        except ValueError as exc:
            raise SaltsegError(f"{self.path}: snapshots: {exc}") from None
        names = list(self.snapshots)
        if selection == "all":
            return names
        if selection == "cycles":
            cycles = [n for n in names if n.startswith("cycle")]
            if cycles:
                return cycles
            # Early stopping can end a phase before its first cycle does.
            logger.warning("%s: no cycle snapshots; using 'best' instead", self.path)
            return ["best"]
        wanted = [selection] if isinstance(selection, str) else selection
        missing = [n for n in wanted if n not in self.snapshots]
        if missing:
            raise SaltsegError(f"{self.path}: no snapshot {missing[0]!r} (has: {', '.join(names)})")
        return wanted


def save_checkpoint(
    path: str | os.PathLike,
    snapshots: dict[str, dict[str, torch.Tensor]],
    spec: ModelSpec,
    in_channels: int,
) -> None:
    payload = {
        "snapshots": {
            k: {n: t.detach().cpu() for n, t in sd.items()} for k, sd in snapshots.items()
        },
        "spec": spec.to_dict(),
        "in_channels": int(in_channels),
    }
    # Saved through a file object: torch roots the zip archive at a path's name, and the
    # temporary name is random, so the same training would not give the same bytes.
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise SaltsegError(f"{path}: checkpoint not found")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise SaltsegError(
            f"{path}: not a readable checkpoint ({str(exc).splitlines()[0]})"
        ) from None
    if not isinstance(raw, dict) or not {"snapshots", "spec", "in_channels"} <= set(raw):
        raise SaltsegError(f"{path}: not a saltseg checkpoint (needs snapshots, spec, in_channels)")
    if not raw["snapshots"]:
        raise SaltsegError(f"{path}: checkpoint holds no snapshots")
    spec = ModelSpec.from_dict(raw["spec"], source=f"{path}: spec")
    return Checkpoint(path, dict(raw["snapshots"]), spec, int(raw["in_channels"]))

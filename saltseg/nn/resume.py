"""Resume a training run: its state at the end of every epoch, written next to the checkpoint.

A training job killed mid-way (kill -9, a lost node, Ctrl-C) starts again from its last finished
epoch instead of epoch 0: weights, optimizer, schedulers, the best and cycle snapshots so far,
the history and the random number generators the run draws from (Python, NumPy, torch, the
sampler's and the augmentations'), so that with augmentation in the main process (the CPU
default, ``train.num_workers: 0``) a resumed run gives the same history as an uninterrupted one;
DataLoader workers (the GPU default) draw augmentations from streams of their own, which a
resumed run seeds anew. The state is only used by the same training: a fingerprint of the spec, the
data, the seed and the start weights must match. A finished run removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saltseg.io.atomic import atomic_path
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def resume_file(checkpoint_path: PathLike) -> Path:
    """Where the run writing ``checkpoint_path`` keeps its resume state (a hidden folder next
    to it, which Snakemake leaves alone when it removes a failed job's outputs)."""
    path = Path(checkpoint_path)
    return path.parent / ".resume" / f"{path.name}.state"


def _digest(h: Any, samples: Samples | None) -> None:
    if samples is None:
        h.update(b"none")
        return
    for array in (samples.images, samples.masks, samples.z):
        a = np.ascontiguousarray(array) if array is not None else np.zeros(0)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.view(np.uint8).reshape(-1).data)


def fingerprint(
    spec: ModelSpec,
    train_set: Samples,
    val_set: Samples | None,
    seed: int,
    init: PathLike | None,
    init_snapshot: str,
) -> str:
    """What the state is only valid for: the same spec, tiles, seed and start weights."""
    h = hashlib.sha256()
    h.update(json.dumps(spec.to_dict(), sort_keys=True, default=str).encode())
    _digest(h, train_set)
    _digest(h, val_set)
    h.update(f"seed={seed};init_snapshot={init_snapshot}".encode())
    if init is not None:
        h.update(Path(init).read_bytes())
    return h.hexdigest()


def rng_state(sampler_generator: torch.Generator, augment: Any) -> dict:
    """Every random stream a training epoch draws from."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG libraries draw from
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
        # The current GPU's only: a rerun may see other GPUs (or fewer) than this run.
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "sampler": sampler_generator.get_state(),
        "augment": [],
    }
    if augment is not None:
        for part in (augment, *augment.transforms):
            state["augment"].append(
                [part.random_generator.bit_generator.state, part.py_random.getstate()]
            )
    return state


def set_rng_state(state: dict, sampler_generator: torch.Generator, augment: Any) -> None:
    random.setstate(_tuples(state["python"]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    sampler_generator.set_state(state["sampler"])
    if augment is not None:
        parts = (augment, *augment.transforms)
        for part, (np_gen, py) in zip(parts, state["augment"], strict=True):
            part.random_generator.bit_generator.state = np_gen
            part.py_random.setstate(_tuples(py))


def _tuples(x: Any) -> Any:
    """random.setstate wants the tuples getstate gave (a save may turn them into lists)."""
    return tuple(_tuples(v) for v in x) if isinstance(x, list | tuple) else x


def save_resume(path: Path, state: dict) -> None:
    """Write the state atomically (a kill during the write leaves the previous one)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(state, fh)


def load_resume(path: Path, expected: str) -> dict | None:
    """The saved state, if there is one for this very training; None otherwise."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a state we cannot read only costs the epochs it saved
        logger.warning("%s: unreadable resume state (%s); starting from epoch 0", path, exc)
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != expected:
        logger.info("%s: resume state of another training (spec, data or seed); ignored", path)
        return None
    return state


def remove_resume(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only when empty

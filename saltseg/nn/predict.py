"""Predict salt probabilities with a checkpoint: the mean over snapshots and test-time views."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError
from saltseg.nn.checkpoint import Checkpoint, load_checkpoint
from saltseg.nn.compiled import CompiledNetwork
from saltseg.nn.device import Compute, progress_interval, resolve_compute
from saltseg.nn.feed import eval_batches, to_inputs, to_network
from saltseg.nn.geometry import Geometry
from saltseg.nn.network import build_model
from saltseg.nn.outputs import Outputs, split_outputs
from saltseg.nn.samples import Samples
from saltseg.nn.spec import TTAS, ModelSpec

logger = logging.getLogger(__name__)


@torch.no_grad()
def predict_views(
    model: nn.Module | Callable[[torch.Tensor], Outputs],
    x: torch.Tensor,
    geometry: Geometry,
    tta: Sequence[str],
    compute: Compute,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mean sigmoid over the identity view and each TTA view, mapped back to 101x101.

    ``x`` holds the input channels at 101x101 (B, C, 101, 101). Flips happen before the geometry
    (and are undone after mapping back), so an asymmetric padding margin cannot shift the result.
    ``model``: the network, or a :class:`CompiledNetwork` of it.
    Returns (probabilities (B, 101, 101), classifier probabilities (B,) or None).
    """
    views = ["identity", *tta]
    total = cls_total = None
    for view in views:
        xi = torch.flip(x, dims=[-1]) if view == "hflip" else x
        with compute.autocast():
            logits, cls_logits, _ = split_outputs(model(to_network(xi, geometry, compute)))
        probs = geometry.probabilities(logits)[:, 0]
        if view == "hflip":
            probs = torch.flip(probs, dims=[-1])
        total = probs if total is None else total + probs
        if cls_logits is not None:
            c = torch.sigmoid(cls_logits.float())[:, 0]
            cls_total = c if cls_total is None else cls_total + c
    n = len(views)
    return total / n, (cls_total / n if cls_total is not None else None)


def predict(
    checkpoint_path: str | os.PathLike,
    samples: Samples,
    *,
    classifier_threshold: float | None = None,
    **settings,
) -> np.ndarray:
    """Float32 (N, 101, 101) salt probabilities for ``samples`` (see :func:`predict_maps` for
    the settings). With an image head, the maps of tiles whose empty/non-empty probability is
    below ``classifier_threshold`` (default: the checkpoint's ``predict.classifier_threshold``)
    are zeroed."""
    ckpt = load_checkpoint(checkpoint_path)
    maps, image = predict_maps(ckpt, samples, **settings)
    if image is not None and classifier_threshold is None:
        classifier_threshold = ckpt.spec.predict.classifier_threshold
    # "oof" needs the truth of the fold's validation tiles: steps.train.predict_fold measures it.
    if image is not None and isinstance(classifier_threshold, float | int):
        empty_unless_salt(maps, image, float(classifier_threshold))
    return maps


def empty_unless_salt(maps: np.ndarray, image: np.ndarray, threshold: float) -> np.ndarray:
    """Zero, in place, the maps whose image-level salt probability is below ``threshold``."""
    empty = image < threshold
    maps[empty] = 0.0
    logger.info("image head: %d of %d tiles predicted empty", int(empty.sum()), len(maps))
    return maps


def prepared_network(ckpt: Checkpoint, compute: Compute) -> nn.Module:
    """The checkpoint's network on the compute's device and memory format, in eval mode."""
    return compute.prepare(build_model(ckpt.spec.model, ckpt.in_channels, pretrained=False)).eval()


def predict_maps(
    checkpoint: str | os.PathLike | Checkpoint,
    samples: Samples,
    *,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    batch_size: int | None = None,
    snapshots: str | list[str] | None = None,
    tta: Sequence[str] | None = None,
    progress: bool = True,
    network: nn.Module | CompiledNetwork | None = None,
    compile: bool | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(float32 (N, 101, 101) salt probabilities, float32 (N,) image-level salt probabilities or
    None without an image head) for ``samples``.

    The mean over the selected snapshots (best | final | cycles | all | ema | [names]) and TTA views
    (the identity plus e.g. "hflip") of the sigmoid outputs. Settings left at None come from the
    checkpoint's spec (its ``predict`` section). ``checkpoint`` is a path or an already loaded
    Checkpoint (callers that also read its spec load it once); ``progress`` False hides the
    progress bar (callers with their own); ``network``: the checkpoint's network already built by
    :func:`prepared_network` for the same compute, or a :class:`CompiledNetwork` of it (callers
    that predict many small batches build it once); ``compile``: run the network through
    ``torch.compile`` (None: the spec's ``predict.compile``; see :mod:`saltseg.nn.compiled`).
    ``device``, ``threads`` and ``precision`` are resolved by
    :func:`saltseg.nn.device.resolve_compute`.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    spec: ModelSpec = ckpt.spec
    names = ckpt.select(spec.predict.snapshots if snapshots is None else snapshots)
    tta = list(spec.predict.tta if tta is None else tta)
    unknown = [t for t in tta if t not in TTAS]
    if unknown:
        raise SaltsegError(f"{ckpt.path}: unknown TTA {unknown[0]!r} (choose from {TTAS})")
    batch_size = batch_size or spec.predict.batch_size
    image_head = spec.model.image_head
    if len(samples) == 0:
        return np.zeros((0, TILE, TILE), dtype=np.float32), (
            np.zeros(0, dtype=np.float32) if image_head else None
        )
    compute = resolve_compute(device, threads, precision)
    geometry = Geometry.of_model(spec)
    if isinstance(network, CompiledNetwork):
        model, forward, compile = network.model, network, True
    else:
        model = network if network is not None else prepared_network(ckpt, compute)
        compile = spec.predict.compile if compile is None else compile
        forward = CompiledNetwork(model) if compile else model
    out = np.zeros((len(samples), TILE, TILE), dtype=np.float32)
    cls_out = np.zeros(len(samples), dtype=np.float32)
    batches = -(-len(samples) // batch_size)
    logger.log(
        logging.INFO if progress else logging.DEBUG,
        "predicting %d tiles with snapshots %s and TTA %s%s", len(samples), names, tta or "none",
        ", compiled" if compile else "",
    )  # fmt: skip
    with tqdm(
        total=len(names) * batches,
        desc="predict",
        unit="batch",
        mininterval=progress_interval(),
        disable=not progress,
    ) as bar:
        for name in names:
            model.load_state_dict(ckpt.snapshots[name])
            for sl, images, z in eval_batches(samples, batch_size):
                x = to_inputs(images, z, spec, compute)
                probs, cls = predict_views(forward, x, geometry, tta, compute)
                out[sl] += probs.cpu().numpy()
                if cls is not None:
                    cls_out[sl] += cls.cpu().numpy()
                bar.update(1)
    out /= len(names)
    return out, (cls_out / len(names) if image_head else None)

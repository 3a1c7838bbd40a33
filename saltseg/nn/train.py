"""Train one model: phases of (loss, optimizer, schedule, epochs), snapshots, history and curves."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from timm.optim import param_groups_weight_decay
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader
from tqdm import tqdm

from saltseg.errors import SaltsegError
from saltseg.metric import score
from saltseg.nn.board import log_epoch, open_board
from saltseg.nn.checkpoint import load_checkpoint, save_checkpoint
from saltseg.nn.device import Compute, progress_interval, resolve_compute
from saltseg.nn.feed import eval_batches, to_inputs, to_network, train_loader
from saltseg.nn.geometry import Geometry
from saltseg.nn.history import HistoryWriter, plot_history
from saltseg.nn.losses import SegLoss, total_loss
from saltseg.nn.network import build_model, check_output_shape
from saltseg.nn.outputs import Outputs, split_outputs
from saltseg.nn.resume import (
    fingerprint,
    load_resume,
    remove_resume,
    resume_file,
    rng_state,
    save_resume,
    set_rng_state,
)
from saltseg.nn.samples import Samples
from saltseg.nn.spec import SHAPE_KEYS, ModelSpec, OptimizerSpec, PhaseSpec

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - libraries draw from the legacy global RNG
    torch.manual_seed(seed)


def make_optimizer(model: nn.Module, spec: OptimizerSpec) -> torch.optim.Optimizer:
    params = model.parameters()
    if spec.name == "sgd":
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    if spec.name == "adamw":
        # Decoupled weight decay on the weights only: decaying biases and normalisation scales
        # (timm's grouping excludes every 1-D parameter) only shrinks what the data set.
        groups = param_groups_weight_decay(model, spec.weight_decay)
        return torch.optim.AdamW(groups, lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights (a snapshot that later training does not change)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def load_init(model: nn.Module, spec: ModelSpec, path: PathLike, snapshot: str = "final") -> None:
    """Start from ``snapshot`` of checkpoint ``path`` (e.g. a model pretrained on pseudo labels).

    The network must match; a classifier head may be added or dropped (its weights start fresh).
    """
    ckpt = load_checkpoint(path)
    if ckpt.in_channels != spec.in_channels:
        raise SaltsegError(
            f"{path}: has {ckpt.in_channels} input channels, the model to train has "
            f"{spec.in_channels} ({', '.join(spec.input.channels)})"
        )
    for key in SHAPE_KEYS:
        theirs, ours = getattr(ckpt.spec.model, key), getattr(spec.model, key)
        if theirs != ours:
            raise SaltsegError(
                f"{path}: model.{key} is {theirs!r}, the model to train has {ours!r}"
            )
    names = ckpt.select(snapshot)
    if len(names) != 1:
        raise SaltsegError(
            f"{path}: init snapshot {snapshot!r} must name one snapshot, got {names}"
        )
    name = names[0]
    try:
        result = model.load_state_dict(ckpt.snapshots[name], strict=False)
    except RuntimeError as exc:  # tensor shapes differ
        problem = str(exc).splitlines()[-1].strip()
        raise SaltsegError(
            f"{path}: snapshot {name!r} does not fit the model ({problem})"
        ) from None
    bad = [
        k for k in result.missing_keys + result.unexpected_keys if "classification_head" not in k
    ]
    if bad:
        raise SaltsegError(f"{path}: snapshot {name!r} does not fit the model (e.g. {bad[0]})")
    logger.info("initialised from %s snapshot %r", path, name)


@dataclass
class _Tracker:
    """Best validation metric over the whole run, and within the current phase."""

    best_metric: float = -math.inf
    best_state: dict | None = None
    phase_metric: float = -math.inf
    phase_state: dict | None = None
    since_phase_best: int = 0
    snapshots: dict = field(default_factory=dict)

    def new_phase(self) -> None:
        self.phase_metric, self.phase_state, self.since_phase_best = -math.inf, None, 0

    def update(self, metric: float, model: nn.Module) -> None:
        state = None
        if metric > self.best_metric:
            state = _state(model)
            self.best_metric, self.best_state = metric, state
        if metric > self.phase_metric:
            self.phase_metric, self.phase_state = metric, state or _state(model)
            self.since_phase_best = 0
        else:
            self.since_phase_best += 1

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def make_ema(model: nn.Module, decay: float | None) -> AveragedModel | None:
    """A moving average of ``model``'s weights and buffers (torch's AveragedModel; buffers too,
    so that the average needs no extra BatchNorm pass), or None without a decay."""
    if decay is None:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def loss_grid(
    outputs: Outputs, masks: torch.Tensor, geometry: Geometry, spec: ModelSpec
) -> tuple[Outputs, torch.Tensor]:
    """The outputs and (N, 1, H, W) float targets on the grid where ``train.loss_at`` puts the
    loss: the network's (the masks resized and padded) or the tile's (the logits cropped and
    resized back to 101x101; the image logits need no mapping)."""
    masks = masks.unsqueeze(1)
    if spec.train.loss_at == "network":
        return outputs, geometry.mask_to_network(masks)
    mapped = Outputs(
        geometry.from_network(outputs.mask),
        outputs.image,
        tuple(geometry.from_network(d) for d in outputs.deep),
    )
    return mapped, masks.float()


def train_epoch(
    model: nn.Module,
    loader,
    spec: ModelSpec,
    geometry: Geometry,
    criterion: SegLoss,
    optimizer: torch.optim.Optimizer,
    compute: Compute,
    *,
    step_scheduler=None,
    bar: tqdm | None = None,
    ema: AveragedModel | None = None,
) -> tuple[float, int, float]:
    """One pass over ``loader``; returns (mean loss per image, images seen, mean learning rate).
    ``ema`` is updated after every optimizer step."""
    model.train()
    # The loss sum stays on the device: reading it every step would stall a GPU's queue.
    total = torch.zeros((), device=compute.device)
    seen, lr_sum, steps = 0, 0.0, 0
    for images, masks, z in loader:
        x = to_network(to_inputs(images, z, spec, compute), geometry, compute)
        with compute.autocast():
            outputs = split_outputs(model(x))
        outputs, target = loss_grid(outputs, compute.to_device(masks), geometry, spec)
        loss = total_loss(outputs, target, criterion, spec.model)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lr_sum += optimizer.param_groups[0]["lr"]
        steps += 1
        optimizer.step()
        if ema is not None:
            ema.update_parameters(model)
        if step_scheduler is not None:
            step_scheduler.step()
        n = len(images)
        total += loss.detach() * n
        seen += n
        if bar is not None:
            bar.update(1)
    mean = float(total) / max(seen, 1)
    if not math.isfinite(mean):
        raise SaltsegError("training diverged (loss is not finite); lower the learning rate")
    return mean, seen, lr_sum / max(steps, 1)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    samples: Samples,
    spec: ModelSpec,
    geometry: Geometry,
    criterion: SegLoss,
    compute: Compute,
) -> tuple[float, float]:
    """(loss, competition metric at threshold 0.5 on the 101x101 masks) of ``samples``."""
    model.eval()
    total = 0.0
    preds = np.zeros(samples.masks.shape, dtype=bool)
    for sl, images, z in eval_batches(samples, spec.predict.batch_size):
        x = to_network(to_inputs(images, z, spec, compute), geometry, compute)
        masks = torch.from_numpy(samples.masks[sl]).to(compute.device)
        with compute.autocast():
            outputs = split_outputs(model(x))
        probs = geometry.probabilities(outputs.mask)
        outputs, target = loss_grid(outputs, masks, geometry, spec)
        total += float(total_loss(outputs, target, criterion, spec.model)) * len(images)
        preds[sl] = (probs[:, 0] > 0.5).cpu().numpy()
    return total / len(samples), score(samples.masks, preds)


@dataclass
class _Run:
    """Everything one training run shares between its phases."""

    spec: ModelSpec
    model: nn.Module
    loader: DataLoader
    geometry: Geometry
    val_set: Samples | None
    compute: Compute
    history: HistoryWriter
    bar: tqdm
    resume_path: Path  # where save_state writes
    fingerprint: str  # of the training the state belongs to
    tracker: _Tracker = field(default_factory=_Tracker)
    ema: AveragedModel | None = None
    epoch: int = 0
    board: Any = None  # a TensorBoard SummaryWriter, when asked for

    def save_state(
        self, number: int, phase_epoch: int, done: bool, optimizer, per_batch, plateau
    ) -> None:
        """The resume state after an epoch: enough to continue with the next one."""
        state = {
            "fingerprint": self.fingerprint,
            "epoch": self.epoch,
            "phase": number,
            "phase_epoch": phase_epoch,
            "phase_done": done,
            "steps": self.bar.n,
            "model": _state(self.model),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": optimizer.state_dict(),
            "per_batch": per_batch.state_dict() if per_batch is not None else None,
            "plateau": plateau.state_dict() if plateau is not None else None,
            "tracker": self.tracker.to_dict(),
            "history": self.history.rows,
            "rng": rng_state(self.loader.sampler.generator, self.loader.dataset.augment),
        }
        save_resume(self.resume_path, state)


def train(
    spec: ModelSpec,
    train_set: Samples,
    val_set: Samples | None,
    checkpoint_path: PathLike,
    history_csv: PathLike,
    curves_png: PathLike,
    *,
    init_checkpoint: PathLike | None = None,
    init_snapshot: str = "final",
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    seed: int = 0,
    tensorboard: PathLike | None = None,
) -> pd.DataFrame:
    """Train through the spec's phases and write the checkpoint, history CSV and curves PNG.

    Snapshots: "best" (best validation metric; "final" when there is no validation set), "final",
    "cycle<phase>_<k>" at the end of each cosine cycle, and "ema" (the weights' moving average)
    with ``train.ema``. Early stopping ends a phase after
    ``early_stopping`` validations without a better metric (every ``train.validate_every``-th
    epoch of a phase and its last are validated) and restores that phase's best weights; the
    next phase starts from the current weights. ``device``, ``threads`` and ``precision`` are
    resolved by :func:`saltseg.nn.device.resolve_compute`. With ``tensorboard`` (a folder) each
    epoch's figures also go to TensorBoard event files there.
    Returns the history.
    """
    if train_set.masks is None:
        raise SaltsegError("train: the training samples have no masks")
    if len(train_set) == 0:
        raise SaltsegError("train: no training samples")
    if val_set is not None and (val_set.masks is None or len(val_set) == 0):
        val_set = None
        logger.warning("validation set is empty or unlabelled: training without validation")
    seed_everything(seed)
    compute = resolve_compute(device, threads, precision)
    model = build_model(spec.model, spec.in_channels, pretrained=init_checkpoint is None)
    if init_checkpoint is not None:
        load_init(model, spec, init_checkpoint, init_snapshot)
    compute.prepare(model)
    check_output_shape(model, spec.in_channels, spec.input.pad)
    loader = train_loader(train_set, spec, compute, seed)
    total_steps = sum(p.epochs for p in spec.train.phases) * len(loader)
    resume_path = resume_file(checkpoint_path)
    key = fingerprint(spec, train_set, val_set, seed, init_checkpoint, init_snapshot)
    state = load_resume(resume_path, key)
    history = HistoryWriter(history_csv)
    try:
        with (
            contextlib.ExitStack() as stack,
            history,
            tqdm(
                total=total_steps, desc="train", unit="batch", mininterval=progress_interval()
            ) as bar,
        ):
            run = _Run(
                spec, model, loader, Geometry.of_model(spec), val_set, compute, history, bar,
                resume_path, key, ema=make_ema(model, spec.train.ema),
            )  # fmt: skip
            if state is not None and not _restore(run, state):
                state = None
            if tensorboard is not None:
                run.board = stack.enter_context(
                    contextlib.closing(open_board(tensorboard, first_epoch=run.epoch + 1))
                )
            for number, phase in enumerate(spec.train.phases, start=1):
                if state is not None and (
                    number < state["phase"] or (number == state["phase"] and state["phase_done"])
                ):
                    continue
                resume = state if state is not None and number == state["phase"] else None
                _run_phase(run, number, phase, resume)
    except BaseException:
        # Keep the partial history for diagnosis, but never under the output's name.
        partial = Path(f"{history_csv}.partial")
        if Path(history_csv).exists():
            os.replace(history_csv, partial)
            logger.error("training failed; partial history kept in %s", partial)
        raise
    tracker = run.tracker
    snapshots = {**tracker.snapshots, "final": _state(model)}
    snapshots["best"] = tracker.best_state if tracker.best_state is not None else snapshots["final"]
    if run.ema is not None:
        snapshots["ema"] = _state(run.ema.module)
        if val_set is not None:
            _, metric = evaluate(
                run.ema.module, val_set, spec, run.geometry, SegLoss(spec.train.phases[-1].loss),
                compute,
            )  # fmt: skip
            logger.info("validation metric of the weights' moving average (ema) %.4f", metric)
    save_checkpoint(checkpoint_path, snapshots, spec, spec.in_channels)
    remove_resume(resume_path)
    Path(f"{history_csv}.partial").unlink(missing_ok=True)  # an earlier failed run's
    frame = history.frame()
    plot_history(frame, curves_png)
    if val_set is not None:
        logger.info("best validation metric %.4f", tracker.best_metric)
    return frame


def _schedulers(run: _Run, phase: PhaseSpec, optimizer: torch.optim.Optimizer):
    """(per-batch scheduler or None, per-epoch plateau scheduler or None)."""
    sched = phase.schedule
    if sched.name == "cosine":
        # Stepped per batch and restarted every cycle: lr -> min_lr within each cycle.
        steps = phase.epochs // sched.cycles * len(run.loader)
        cosine = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer, T_0=steps, eta_min=sched.min_lr
        )
        return cosine, None
    if sched.name == "plateau":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if run.val_set is not None else "min",
            factor=sched.factor,
            patience=sched.patience,
            min_lr=sched.min_lr,
        )
        return None, plateau
    return None, None


def _restore(run: _Run, state: dict) -> bool:
    """Continue a run from its resume state: weights, snapshots, history and random streams.
    False, with nothing changed, when this process cannot take the state's random streams
    (another torch version, another GPU): the run then starts from epoch 0."""
    streams = (run.loader.sampler.generator, run.loader.dataset.augment)
    before = rng_state(*streams)
    try:
        set_rng_state(state["rng"], *streams)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        set_rng_state(before, *streams)  # as if no state had been found
        logger.warning("%s: cannot resume (%s); starting from epoch 0", run.resume_path, exc)
        return False
    run.model.load_state_dict(state["model"])
    if run.ema is not None:
        run.ema.load_state_dict(state["ema"])
    for key, value in state["tracker"].items():
        setattr(run.tracker, key, value)
    run.epoch = state["epoch"]
    for row in state["history"]:
        run.history.write(row)
    run.bar.update(state["steps"])
    logger.info(
        "resuming after epoch %d (phase %d, epoch %d of it) from %s",
        run.epoch, state["phase"], state["phase_epoch"], run.resume_path,
    )  # fmt: skip
    return True


def _run_phase(run: _Run, number: int, phase: PhaseSpec, resume: dict | None = None) -> None:
    """Train one phase, writing one history row per epoch (from the resume state's epoch on)."""
    criterion = SegLoss(phase.loss)
    optimizer = make_optimizer(run.model, phase.optimizer)
    per_batch, plateau = _schedulers(run, phase, optimizer)
    first = 0
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        if per_batch is not None:
            per_batch.load_state_dict(resume["per_batch"])
        if plateau is not None:
            plateau.load_state_dict(resume["plateau"])
        first = resume["phase_epoch"]
    cycle_epochs = phase.epochs // phase.schedule.cycles if phase.schedule.name == "cosine" else 0
    if phase.early_stopping and run.val_set is None:
        logger.warning("phase %s: early stopping needs a validation set; ignored", phase.name)
    tracker = run.tracker
    if resume is None:
        tracker.new_phase()
    logger.info("phase %d (%s): %d epochs, loss %s", number, phase.name, phase.epochs, phase.loss)
    for e in range(first, phase.epochs):
        start = time.perf_counter()
        train_loss, seen, lr = train_epoch(
            run.model, run.loader, run.spec, run.geometry, criterion, optimizer, run.compute,
            step_scheduler=per_batch, bar=run.bar, ema=run.ema,
        )  # fmt: skip
        train_seconds = time.perf_counter() - start
        val_loss = val_metric = math.nan
        validate = run.val_set is not None and (
            (e + 1) % run.spec.train.validate_every == 0 or e + 1 == phase.epochs
        )
        if validate:
            val_loss, val_metric = evaluate(
                run.model, run.val_set, run.spec, run.geometry, criterion, run.compute
            )
        run.epoch += 1
        row = {
            "epoch": run.epoch,
            "phase": phase.name,
            "lr": lr,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_metric": val_metric,
            "seconds": time.perf_counter() - start,
            "images_per_s": seen / train_seconds if train_seconds > 0 else math.nan,
        }
        run.history.write(row)
        if run.board is not None:
            log_epoch(run.board, row)
        run.bar.set_postfix(phase=phase.name, loss=f"{train_loss:.4f}", metric=f"{val_metric:.4f}")
        logger.info(
            "epoch %d (%s %d/%d): lr %.3g, train loss %.4f, val loss %.4f, metric %.4f, %.0f img/s",
            run.epoch, phase.name, e + 1, phase.epochs, lr, train_loss, val_loss, val_metric,
            row["images_per_s"],
        )  # fmt: skip
        if plateau is not None and (validate or run.val_set is None):
            plateau.step(val_metric if validate else train_loss)
        if cycle_epochs and (e + 1) % cycle_epochs == 0:
            tracker.snapshots[f"cycle{number}_{(e + 1) // cycle_epochs}"] = _state(run.model)
        stop = False
        if validate:
            tracker.update(val_metric, run.model)
            stop = bool(phase.early_stopping) and tracker.since_phase_best >= phase.early_stopping
        if stop:
            logger.info(
                "phase %s: no better metric for %d validations; back to its best (%.4f)",
                phase.name, phase.early_stopping, tracker.phase_metric,
            )  # fmt: skip
            run.model.load_state_dict(tracker.phase_state)
            run.bar.update((phase.epochs - e - 1) * len(run.loader))
        done = stop or e + 1 == phase.epochs
        run.save_state(number, e + 1, done, optimizer, per_batch, plateau)
        if stop:
            break

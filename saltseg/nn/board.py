"""TensorBoard logging of a training run (optional: ``runtime.tensorboard``): the history's
figures per epoch, one event folder per training job, so that folds and stages compare in one
TensorBoard view (``tensorboard --logdir results/tensorboard``)."""

from __future__ import annotations

import math
import os
from typing import Any

from saltseg.errors import SaltsegError

# history column -> TensorBoard tag (grouped so that losses share a chart)
TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "val_metric": "metric/validation",
    "lr": "learning_rate",
    "images_per_s": "speed/images_per_s",
}


def open_board(log_dir: str | os.PathLike, first_epoch: int = 1) -> Any:
    """A SummaryWriter for ``log_dir``; events from ``first_epoch`` on (a resumed run's) are
    dropped first, so a run that resumes does not log an epoch twice."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SaltsegError(
            "runtime.tensorboard: needs the tensorboard package "
            "(pip install tensorboard, or pip install -e '.[dev]')"
        ) from None
    return SummaryWriter(str(log_dir), purge_step=first_epoch if first_epoch > 1 else None)


def log_epoch(writer: Any, row: dict) -> None:
    """One history row as scalars at step ``row["epoch"]``; NaN (no validation) is left out."""
    for column, tag in TAGS.items():
        value = row.get(column)
        if isinstance(value, int | float) and math.isfinite(value):
            writer.add_scalar(tag, float(value), int(row["epoch"]))
    writer.flush()

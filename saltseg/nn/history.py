"""Training history: a CSV written one epoch at a time (tail-able) and a PNG of the curves."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from saltseg.io.figures import save_figure

COLUMNS = [
    "epoch",
    "phase",
    "lr",
    "train_loss",
    "val_loss",
    "val_metric",
    "seconds",
    "images_per_s",
]


class HistoryWriter:
    """Append rows to ``path`` and flush each one, so `tail -f` shows training progress."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        self._fh = open(self.path, "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.DictWriter(self._fh, fieldnames=COLUMNS)
        self._writer.writeheader()
        self._fh.flush()

    def write(self, row: dict) -> None:
        self.rows.append(row)
        self._writer.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fmt(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def plot_history(history: pd.DataFrame, png: str | os.PathLike) -> None:
    """Loss and validation metric vs epoch (left) and learning rate (right), phases shaded."""
    fig = Figure(figsize=(11, 4))
    ax_loss, ax_lr = fig.subplots(1, 2)
    ep = history["epoch"]
    ax_loss.plot(ep, history["train_loss"], label="train loss", color="tab:blue")
    # Validated epochs only (train.validate_every), joined by lines.
    val = history[history["val_loss"].notna()]
    if len(val):
        ax_loss.plot(
            val["epoch"], val["val_loss"], label="val loss", color="tab:orange", marker="."
        )
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    handles, labels = ax_loss.get_legend_handles_labels()
    val = history[history["val_metric"].notna()]
    if len(val):
        ax_m = ax_loss.twinx()
        ax_m.plot(
            val["epoch"], val["val_metric"], label="val metric", color="tab:green", marker="."
        )
        ax_m.set_ylabel("val metric")
        h2, l2 = ax_m.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax_loss.legend(handles, labels, loc="best", fontsize=8)
    ax_lr.plot(ep, history["lr"], color="tab:red")
    lr = history["lr"].dropna()
    if len(lr) and (lr > 0).all() and lr.max() > 2 * lr.min():  # log scale only when it helps
        ax_lr.set_yscale("log")
    ax_lr.set_xlabel("epoch")
    ax_lr.set_ylabel("learning rate")
    # Mark where each phase starts.
    starts = history.groupby("phase", sort=False)["epoch"].min()
    for ax in (ax_loss, ax_lr):
        for name, e in starts.items():
            ax.axvline(e - 0.5, color="grey", lw=0.6, ls=":")
            ax.text(e - 0.4, 1.0, name, transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    fig.tight_layout()
    save_figure(fig, png, dpi=100)

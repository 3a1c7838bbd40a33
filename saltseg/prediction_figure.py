"""A picture of predictions: tiles, their true masks and the predicted salt probability.

Examples are drawn across the range of true salt coverage (a few empty tiles, then coverage
quantiles), so the picture shows where a model is right and where boundaries go wrong; each
tile's competition score at the threshold is in its title.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from saltseg.metric import image_scores


def pick_examples(truth: np.ndarray, n: int, n_empty: int = 2) -> np.ndarray:
    """Rows of ``n`` tiles: ``n_empty`` empty ones, the rest at evenly spaced quantiles of the
    salt coverage of the non-empty ones (sorted by coverage; deterministic)."""
    coverage = truth.reshape(len(truth), -1).mean(axis=1)
    empty = np.flatnonzero(coverage == 0)
    salt = np.flatnonzero(coverage > 0)
    salt = salt[np.argsort(coverage[salt], kind="stable")]
    n_empty = min(n_empty, len(empty), n)
    n_salt = min(n - n_empty, len(salt))
    picked_salt = salt[np.unique(np.linspace(0, len(salt) - 1, n_salt).round().astype(int))]
    picked_empty = empty[np.linspace(0, len(empty) - 1, n_empty).round().astype(int)]
    return np.concatenate([picked_empty, picked_salt]).astype(int)


def predictions_figure(
    images: np.ndarray,
    truth: np.ndarray,
    probs: np.ndarray,
    ids: np.ndarray,
    *,
    threshold: float = 0.5,
    title: str = "",
    columns: int = 2,
) -> Figure:
    """One row of three panels (tile; true mask; probability with its ``threshold`` contour)
    per tile, ``columns`` tiles side by side."""
    n = len(images)
    scores = image_scores(truth.astype(bool), probs > threshold) if n else np.zeros(0)
    rows = max(1, -(-n // columns))
    # A bare Figure (no pyplot): nothing global to set up or close.
    fig = Figure(figsize=(3.0 * 3 * columns, 3.1 * rows + 0.4))
    axes = np.asarray(fig.subplots(rows, 3 * columns, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    for k in range(n):
        r, c = divmod(k, columns)
        a_img, a_true, a_prob = axes[r, 3 * c : 3 * c + 3]
        a_img.imshow(images[k], cmap="gray", vmin=0, vmax=255)
        a_img.set_title(f"{ids[k]}", fontsize=8)
        a_true.imshow(images[k], cmap="gray", vmin=0, vmax=255)
        a_true.imshow(np.ma.masked_where(~truth[k].astype(bool), truth[k]), cmap="autumn",
                      alpha=0.5, vmin=0, vmax=1)  # fmt: skip
        a_true.set_title(f"truth, coverage {truth[k].mean():.2f}", fontsize=8)
        a_prob.imshow(probs[k], cmap="viridis", vmin=0, vmax=1)
        if probs[k].min() < threshold < probs[k].max():
            a_prob.contour(probs[k], levels=[threshold], colors="white", linewidths=0.8)
        a_prob.set_title(f"p(salt); score {scores[k]:.2f} at {threshold:g}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    # Room at the top for the title, which tight_layout does not see.
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.1 * rows + 0.4)) if title else None)
    return fig

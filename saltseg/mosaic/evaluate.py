"""How well an assembled mosaic layout matches the true layout (known for synthetic data).

A layout implies neighbour pairs: B "right of" A and B "below" A. Precision and recall are
counted over these pairs; a layout is correct up to translation exactly when all its pairs are.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from saltseg.mosaic.layout import LAYOUT_COLUMNS, TRUTH_COLUMNS


def neighbour_pairs(layout: pd.DataFrame, group: str) -> pd.DataFrame:
    """All (first, second, direction) pairs: direction "h" = second right of first, "v" = below."""
    base = layout[["id", group, "row", "col"]].astype({"id": str})
    out = []
    for direction, (dr, dc) in (("h", (0, 1)), ("v", (1, 0))):
        shifted = base.assign(row=base["row"] - dr, col=base["col"] - dc)
        pairs = base.merge(shifted, on=[group, "row", "col"], suffixes=("_first", "_second"))
        out.append(
            pd.DataFrame(
                {
                    "first": pairs["id_first"].to_numpy(),
                    "second": pairs["id_second"].to_numpy(),
                    "direction": direction,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _check(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}")
    if df["id"].duplicated().any():
        raise ValueError(f"{what} lists id {df['id'][df['id'].duplicated()].iloc[0]!r} twice")


def evaluate(
    layout: pd.DataFrame,
    truth_layout: pd.DataFrame,
    *,
    unlinkable_ids: Iterable[str] | None = None,
    max_wrong: int = 50,
) -> dict:
    """Compare a layout (``id, mosaic, row, col``) with the truth (``id, section, row, col``).

    ``unlinkable_ids`` (e.g. blank tiles) are left out of the "linkable" recall, which counts only
    true pairs whose two tiles both carry image content. Returns pair precision and recall, the
    fraction of tiles placed, how many predicted mosaics each true section is split into, tiles
    placed inconsistently with their mosaic's majority, and up to ``max_wrong`` wrong pairs.
    """
    _check(layout, LAYOUT_COLUMNS, "layout")
    _check(truth_layout, TRUTH_COLUMNS, "truth layout")
    layout = layout.astype({"id": str})
    truth = truth_layout.astype({"id": str})
    unknown = set(layout["id"]) - set(truth["id"])
    if unknown:
        raise ValueError(f"layout id {sorted(unknown)[0]!r} is not in the truth layout")

    key = ["first", "second", "direction"]
    pred_pairs = neighbour_pairs(layout, "mosaic")
    true_pairs = neighbour_pairs(truth, "section")
    hits = pred_pairs.merge(true_pairs, on=key, how="left", indicator=True)
    correct = hits["_merge"] == "both"
    n_correct = int(correct.sum())
    wrong = hits.loc[~correct, key]

    result: dict = {
        "tiles": int(len(truth)),
        "tiles_placed": int(len(layout)),
        "placed_fraction": float(len(layout) / len(truth)) if len(truth) else 0.0,
        "mosaics": int(layout["mosaic"].nunique()),
        "pairs_predicted": int(len(pred_pairs)),
        "pairs_true": int(len(true_pairs)),
        "pairs_correct": n_correct,
        "pairs_wrong": int(len(wrong)),
        "precision": float(n_correct / len(pred_pairs)) if len(pred_pairs) else 1.0,
        "recall": float(n_correct / len(true_pairs)) if len(true_pairs) else 1.0,
    }
    if unlinkable_ids is not None:
        bad = {str(i) for i in unlinkable_ids}
        linkable = ~(true_pairs["first"].isin(bad) | true_pairs["second"].isin(bad))
        n_linkable = int(linkable.sum())
        result["pairs_linkable"] = n_linkable
        result["recall_linkable"] = float(n_correct / n_linkable) if n_linkable else 1.0

    # Split: into how many predicted mosaics the placed tiles of each true section fall.
    joined = layout.merge(truth, on="id", suffixes=("", "_true"))
    per_section = joined.groupby("section")["mosaic"].nunique()
    result["sections"] = int(truth["section"].nunique())
    result["sections_placed"] = int(len(per_section))
    result["split_mean"] = float(per_section.mean()) if len(per_section) else 0.0
    result["split_median"] = float(per_section.median()) if len(per_section) else 0.0
    result["split_max"] = int(per_section.max()) if len(per_section) else 0

    # Placement: each mosaic's majority (section, row offset, col offset); others are misplaced.
    joined = joined.assign(
        dr=joined["row_true"] - joined["row"], dc=joined["col_true"] - joined["col"]
    )
    votes = joined.groupby(["mosaic", "section", "dr", "dc"]).size()
    majority = votes.groupby(level="mosaic").max()
    result["tiles_misplaced"] = int(len(joined) - majority.sum())
    result["mosaics_mixed"] = int((joined.groupby("mosaic")["section"].nunique() > 1).sum())
    result["wrong_pairs"] = [tuple(r) for r in wrong.head(max_wrong).itertuples(index=False)]
    return result

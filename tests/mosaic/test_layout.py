"""The layout file and the synthetic truth layout."""

import pandas as pd
import pytest

from saltseg.errors import SaltsegError
from saltseg.mosaic.layout import read_layout, read_truth_layout, save_layout


def test_layout_file_round_trip_and_errors(tmp_path):
    layout = pd.DataFrame({"id": ["a", "b"], "mosaic": [0, 0], "row": [0, 1], "col": [0, 0]})
    save_layout(layout, tmp_path / "layout.parquet")
    pd.testing.assert_frame_equal(read_layout(tmp_path / "layout.parquet"), layout)

    layout.drop(columns="col").to_parquet(tmp_path / "nocol.parquet")
    with pytest.raises(SaltsegError, match=r"nocol\.parquet: missing column\(s\) \['col'\]"):
        read_layout(tmp_path / "nocol.parquet")
    layout.assign(id=["a", "a"]).to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(SaltsegError, match=r"dup\.parquet: duplicate id 'a'"):
        read_layout(tmp_path / "dup.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(SaltsegError, match=r"junk\.parquet: unreadable mosaic layout"):
        read_layout(tmp_path / "junk.parquet")


def test_truth_layout_errors(tmp_path):
    (tmp_path / "layout.csv").write_text("id,row,col\na,0,0\n")
    with pytest.raises(SaltsegError, match="missing column\\(s\\) \\['section'\\]"):
        read_truth_layout(tmp_path / "layout.csv")

"""The report's tables and text."""

import numpy as np
import pandas as pd

from saltseg.report import markdown_table, rule_times


def test_markdown_table():
    df = pd.DataFrame({"model": ["a", "blend"], "score": [0.5, np.nan]})
    assert markdown_table(df).splitlines() == [
        "| model | score |",
        "|---|---|",
        "| a | 0.5000 |",
        "| blend |  |",
    ]


def test_rule_times_sum_folds_per_rule():
    seconds = {
        "stage1/a/train_fold0.tsv": 10.0,
        "stage1/a/train_fold1.tsv": 14.0,
        "build_mosaic.tsv": 3.0,
    }
    times = rule_times(seconds).set_index("rule")
    assert times.loc["stage1/a/train_fold", "seconds"] == 24.0
    assert times.loc["stage1/a/train_fold", "jobs"] == 2
    assert times.loc["build_mosaic", "seconds"] == 3.0

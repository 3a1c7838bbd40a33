import numpy as np

from saltseg import cli
from saltseg.io import submission


def test_check_data_prints_summary(kaggle_dir, capsys):
    root, _ = kaggle_dir
    assert cli.main(["check-data", str(root)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "empty_fraction" in out and "blank_test" in out


def test_check_data_error_is_one_line_and_nonzero(tmp_path, capsys):
    assert cli.main(["check-data", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("saltseg check-data: error:") and "\n" not in err


def test_score_command(tmp_path, capsys):
    m = np.zeros((2, 101, 101), bool)
    m[1, 50:] = True
    submission.write_submission(["a", "b"], m, tmp_path / "ans.csv")
    submission.write_submission(["a", "b"], m, tmp_path / "sub.csv")
    assert cli.main(["score", str(tmp_path / "sub.csv"), str(tmp_path / "ans.csv")]) == 0
    assert "1.0000" in capsys.readouterr().out


def test_schema_command_writes_the_generated_schema(tmp_path, capsys):
    assert cli.main(["schema", str(tmp_path / "schema.json")]) == 0
    text = (tmp_path / "schema.json").read_text()
    assert '"additionalProperties": false' in text and '"postprocess"' in text

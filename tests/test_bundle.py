"""The model bundle's manifest: member weights and what makes a folder a readable bundle."""

import json

import pytest

from saltseg.bundle.manifest import FORMAT, Member, member_weights, read_manifest, write_manifest
from saltseg.errors import SaltsegError


def test_member_weights_spread_stage_weights_over_models():
    stages = {"stage2": {"a": 1.0, "b": 3.0}, "stage3": {"c": 1.0}}
    got = member_weights({"stage2": 1.0, "stage3/c": 1.0}, stages)
    assert got == [("stage2", "a", 0.125), ("stage2", "b", 0.375), ("stage3", "c", 0.5)]
    # A model named both through its stage and on its own adds up; weight 0 drops out.
    got = member_weights({"stage2": 1.0, "stage2/a": 1.0}, {"stage2": {"a": 1.0, "b": 0.0}})
    assert got == [("stage2", "a", 1.0)]


def write_bundle(folder, folds=("models/s/a/fold0.pt",)):
    folder.mkdir(parents=True, exist_ok=True)
    for rel in folds:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"x")
    member = Member("stage1", "a", 1.0, tuple(folds), {"tta": ["hflip"]})
    return write_manifest(folder, [member], threshold=0.45, postprocess={}, oof_scores=[])


def test_manifest_round_trip_and_errors(tmp_path):
    written = write_bundle(tmp_path / "b")
    manifest, members = read_manifest(tmp_path / "b")
    assert manifest == written and members[0].folds == ("models/s/a/fold0.pt",)
    with pytest.raises(SaltsegError, match="not a model bundle"):
        read_manifest(tmp_path)
    (tmp_path / "b" / "models/s/a/fold0.pt").unlink()
    with pytest.raises(SaltsegError, match="fold0.pt: missing from the bundle"):
        read_manifest(tmp_path / "b")
    path = tmp_path / "b" / "bundle.json"
    path.write_text(json.dumps({**written, "format": FORMAT + 1, "saltseg": "9.9"}))
    with pytest.raises(SaltsegError, match="bundle format 2 from saltseg 9.9; this saltseg"):
        read_manifest(tmp_path / "b")
    path.write_text("{not json")
    with pytest.raises(SaltsegError, match="unreadable manifest"):
        read_manifest(tmp_path / "b")

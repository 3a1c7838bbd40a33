"""Resuming a training run after a crash: from its last finished epoch, to the same result."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from saltseg.nn import train as train_module
from saltseg.nn.resume import resume_file
from tests.nn import test_train
from tests.nn.test_train import ADAM, snapshots, tiles, tiny_spec

REPO = Path(__file__).resolve().parents[2]
# Two phases, a cosine schedule with two cycles (snapshots), a plateau schedule, augmentation:
# every piece of state a resume must carry.
PHASES = [
    {"name": "warm", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 3,
     "schedule": {"name": "cosine", "cycles": 1, "min_lr": 1.0e-4}},
    {"name": "hinge", "loss": {"lovasz": 1.0}, "optimizer": {"name": "sgd", "lr": 0.01,
     "momentum": 0.9}, "epochs": 2, "schedule": {"name": "plateau", "patience": 1}},
]  # fmt: skip
SAME = ["epoch", "phase", "lr", "train_loss", "val_loss", "val_metric"]


def run(*args, **kwargs):
    """test_train's run in float32. On a CPU with AMX `auto` autocasts to bf16, and there a
    resumed run ended a little off the uninterrupted one (train loss 0.7004 against 0.7145 at
    epoch 4; 2-core Xeon, 2026-12-06) where float32 matched bit for bit: bf16 kernels need not
    add in the same order in a fresh process, so only float32 can be compared exactly."""
    return test_train.run(*args, precision="fp32", **kwargs)


class Crash(BaseException):
    """Stands in for a kill: raised from inside an epoch."""


def crash_at_epoch(monkeypatch, epoch: int) -> None:
    real = train_module.train_epoch
    calls = {"n": 0}

    def epoch_or_crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", epoch_or_crash)


@pytest.mark.parametrize("crash_epoch", [2, 4])  # inside phase 1; first epoch of phase 2
def test_a_resumed_run_gives_the_same_history_and_weights(tmp_path, monkeypatch, crash_epoch):
    # With a moving average of the weights and weighted sampling (every tile here has under 60%
    # salt or none): the resumed run carries both on.
    train = {"batch_size": 4, "ema": 0.9, "small_salt": {"below": 0.6, "weight": 3.0}}
    spec = tiny_spec(PHASES, train={**train, "phases": PHASES})
    val = tiles(6, seed=1)
    whole = run(tmp_path, spec, val_set=val, name="whole")
    assert not resume_file(tmp_path / "whole.pt").exists()  # a finished run removes its state
    crash_at_epoch(monkeypatch, crash_epoch)
    with pytest.raises(Crash):
        run(tmp_path, spec, val_set=val, name="cut")
    state = resume_file(tmp_path / "cut.pt")
    assert state.exists() and not (tmp_path / "cut.pt").exists()
    monkeypatch.undo()
    resumed = run(tmp_path, spec, val_set=val, name="cut")
    pd.testing.assert_frame_equal(resumed[SAME], whole[SAME])
    on_disk = pd.read_csv(tmp_path / "cut.csv")
    assert on_disk["epoch"].tolist() == [1, 2, 3, 4, 5]
    a, b = snapshots(tmp_path / "whole.pt"), snapshots(tmp_path / "cut.pt")
    assert set(a) == set(b) and "ema" in a
    for name in a:
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name])
    assert not state.exists() and not state.parent.exists()


def test_a_changed_spec_does_not_resume(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="saltseg")
    val = tiles(6, seed=1)
    crash_at_epoch(monkeypatch, 2)
    with pytest.raises(Crash):
        run(tmp_path, tiny_spec(PHASES), val_set=val)
    monkeypatch.undo()
    other = tiny_spec([{**PHASES[0], "epochs": 2}])
    history = run(tmp_path, other, val_set=val)
    assert history["epoch"].tolist() == [1, 2]
    assert "resume state of another training" in caplog.text


KILLABLE = """
import logging, sys, time
logging.basicConfig(level=logging.INFO)
from pathlib import Path
from saltseg.nn import train as t
from tests.nn.test_resume import PHASES
from tests.nn.test_train import tiles, tiny_spec

real = t.train_epoch
def slow_epoch(*args, **kwargs):
    out = real(*args, **kwargs)
    time.sleep(float(sys.argv[2]))  # time for the test to kill us between epochs
    return out
t.train_epoch = slow_epoch
out = Path(sys.argv[1])
t.train(tiny_spec(PHASES), tiles(12), tiles(6, seed=1), out / "m.pt", out / "m.csv",
        out / "m.png", threads=1)
"""


def test_kill_9_then_run_again_resumes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", KILLABLE, str(tmp_path)]
    proc = subprocess.Popen([*cmd, "5"], env=env, cwd=REPO, stderr=subprocess.PIPE)
    state = resume_file(tmp_path / "m.pt")
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert state.exists(), proc.stderr.read().decode() if proc.poll() is not None else "slow"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "m.pt").exists()
    again = subprocess.run([*cmd, "0"], env=env, cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "resuming after epoch 1 (phase 1, epoch 1 of it)" in again.stderr
    history = pd.read_csv(tmp_path / "m.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert set(snapshots(tmp_path / "m.pt")) >= {"final", "best"}
    assert not state.exists()


def test_a_state_whose_random_streams_do_not_fit_starts_over(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="saltseg")
    spec, val = tiny_spec(PHASES), tiles(6, seed=1)
    whole = run(tmp_path, spec, val_set=val, name="whole")
    crash_at_epoch(monkeypatch, 2)
    with pytest.raises(Crash):
        run(tmp_path, spec, val_set=val, name="cut")
    monkeypatch.undo()
    state_file = resume_file(tmp_path / "cut.pt")
    state = torch.load(state_file, weights_only=True)
    state["rng"]["augment"] = state["rng"]["augment"][:1]  # e.g. another albumentations
    torch.save(state, state_file)
    again = run(tmp_path, spec, val_set=val, name="cut")
    assert "cannot resume" in caplog.text
    pd.testing.assert_frame_equal(again[SAME], whole[SAME])  # a clean start from epoch 0

"""The tests config through a real SLURM cluster (`--executor slurm`): a single-node cluster on
this machine brought up by .ci/slurm_up.sh. Skipped, with the reason, where SLURM cannot run."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from saltseg.io import submission

REPO = Path(__file__).resolve().parents[2]
GPU_RULES = ("train_fold", "predict_fold", "pretrain_on_pseudo")


def cluster_partition() -> str:
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("the SLURM executor plugin is not installed (pip install -e '.[slurm]')")
    if os.environ.get("SALTSEG_SLURM_TEST") != "1":
        pytest.skip("set SALTSEG_SLURM_TEST=1 to run the tests config through SLURM (minutes)")
    proc = subprocess.run(
        ["bash", str(REPO / ".ci" / "slurm_up.sh")], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or shutil.which("sbatch") is None:
        pytest.skip(f"no SLURM cluster: {proc.stderr.strip() or 'sbatch not found'}")
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.slurm
def test_tests_config_runs_through_slurm(tmp_path):
    partition = cluster_partition()
    # This machine's cluster has one partition and no GPUs: both of the config's partitions are
    # that one, and the GPU rules ask for none (gpu=0 sends no --gpus).
    resources = [f"{rule}:gpu=0" for rule in GPU_RULES]
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
        "--workflow-profile", str(REPO / "profiles" / "slurm"),
        "--configfile", str(REPO / "config" / "test.yaml"),
        # the partitions from the config, as a user sets them
        "--config", f"cluster={{'partition': '{partition}', 'gpu_partition': '{partition}'}}",
        "--set-resources", *resources,
        "--slurm-init-seconds-before-status-checks", "5",
        "--slurm-status-command", "squeue",
        "--jobs", "4",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "SLURM jobid" in out or "slurm" in out.lower()
    results = tmp_path / "results"
    sub = pd.read_csv(results / "submission.csv", keep_default_na=False)
    table = pd.read_parquet(results / "data" / "tiles.parquet")
    submission.check_ids(
        sub["id"].tolist(), table.loc[table.split == "test", "id"].tolist(), "submission.csv"
    )
    assert (results / "bundle" / "bundle.json").exists()

"""The Snakemake workflow: DAG shape, a whole run on the tests config, precise re-runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from saltseg.io import submission

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
GPU_RULES = ("train_fold", "predict_fold", "pretrain_on_pseudo")


def snakemake(workdir: Path, *args: str, configfile: Path | None = None) -> str:
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" table of a (dry) run as {rule: count}."""
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    counts.pop("total", None)
    return counts


def test_dry_run_dag_of_default_config(tmp_path):
    # The default config points at data/tgs; a dry run still shows the whole DAG.
    out = snakemake(tmp_path, "-n", configfile=REPO / "config.yaml")
    assert "data folder data/tgs not found" in out and "kaggle competitions download" in out
    counts = job_counts(out)
    assert counts == {
        "prepare_data": 1,
        "make_folds": 1,
        "build_mosaic": 1,
        # The recipe: families A and B x 5 folds in stages 1 and 2, stage 3's one model x 5 folds.
        "train_fold": 25,
        "predict_fold": 25,
        "average_folds": 5,
        "blend_stage": 3,
        "make_pseudo_labels": 2,
        "pretrain_on_pseudo": 2,  # stage-2 A and stage 3; stage-2 B appends its pseudo labels
        "blend_final": 1,
        "postprocess": 1,
        "postprocess_oof": 1,
        "plot_mosaics": 1,
        "plot_predictions": 1,
        "summarise_data": 1,
        "export_bundle": 1,
        "submission": 1,
        "report": 1,
        "all": 1,
    }


def test_dry_run_rejects_a_bad_key_before_anything_runs(tmp_path):
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["_tiny"]["augment"]["hflp"] = 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n"]
    proc = subprocess.run(
        [*cmd, "--configfile", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert proc.returncode != 0
    assert "stages.stage1.models.a.augment.hflp: unknown key" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_answers_file_scores_real_data(tmp_path):
    # data.answers (e.g. from `saltseg split`) becomes an input of post-processing and the
    # submission, which then measure every rule and score the submission.
    from tests.conftest import make_kaggle_dir

    make_kaggle_dir(tmp_path / "kaggle")
    config = tmp_path / "real.yaml"
    answers = tmp_path / "answers.csv"
    config.write_text(
        yaml.safe_dump({"data": {"source": str(tmp_path / "kaggle"), "answers": str(answers)}})
    )
    base = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path / "run"), "-n"]
    args = ["--configfile", str(REPO / "config" / "test.yaml"), str(config), "--", "submission"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*base, *args], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    assert f"data.answers: {answers}: file not found" in proc.stdout + proc.stderr
    answers.write_text("id,rle_mask\n")
    proc = subprocess.run([*base, *args], capture_output=True, text=True, env=env, check=True)
    inputs = [line for line in proc.stdout.splitlines() if line.strip().startswith("input:")]
    assert sum(str(answers) in line for line in inputs) == 2  # postprocess and submission


def test_without_test_tiles_the_dag_stops_before_anything_runs(tmp_path):
    from tests.conftest import make_kaggle_dir

    make_kaggle_dir(tmp_path / "kaggle")
    shutil.rmtree(tmp_path / "kaggle" / "test")
    config = tmp_path / "real.yaml"
    config.write_text(yaml.safe_dump({"data": {"source": str(tmp_path / "kaggle")}}))
    base = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path / "run"), "-n"]
    args = ["--configfile", str(REPO / "config" / "test.yaml"), str(config), "--"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*base, *args], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    assert (
        "no test tiles in test/images, so no pseudo labels; without them run stage 1 and its "
        "OOF metric: snakemake results/stage1/blend/scores.csv"
    ) in proc.stdout + proc.stderr
    assert not (tmp_path / "run" / "results").exists()
    target = "results/stage1/blend/scores.csv"
    proc = subprocess.run([*base, *args, target], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and job_counts(proc.stdout)["train_fold"] == 2


def test_refine_mode_trains_each_fold_from_the_source_stage_fold(tmp_path):
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["stages"]["stage2"]["mode"] = "refine"
    config = tmp_path / "refine.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path, "-n", "results/stage2/blend/scores.csv", configfile=config)
    assert "pretrain_on_pseudo" not in job_counts(out)
    lines = [line.strip() for line in out.splitlines()]
    output = "output: results/stage2/models/a/fold1/"
    at = lines.index(next(x for x in lines if x.startswith(output)))
    fold1 = lines[at - 1]  # the job's input line
    assert fold1.startswith("input:") and "results/stage1/models/a/fold1/model.pt" in fold1
    assert "results/stage1/models/a/fold0/model.pt" not in fold1
    assert "results/stage2/pseudo/labels.npz" in fold1


def test_tensorboard_events_per_training_job(tmp_path):
    pytest.importorskip("tensorboard")
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["runtime"]["tensorboard"] = True
    config = tmp_path / "tb.yaml"
    config.write_text(yaml.safe_dump(cfg))
    target = "results/stage1/models/a/fold0/model.pt"
    snakemake(tmp_path, "--cores", "2", target, configfile=config)
    events = list(
        (tmp_path / "results" / "tensorboard" / "stage1" / "a" / "fold0").glob("events.*")
    )
    assert len(events) == 1 and events[0].stat().st_size > 200


def job_blocks(output: str) -> list[tuple[str, str]]:
    """(rule, the job's block of lines) for each job of a dry run."""
    blocks = re.split(r"(?m)^(?:local)?rule ", output)[1:]
    return [(block.split(":", 1)[0], block) for block in blocks]


def job_resources(output: str) -> dict[str, set[str]]:
    """{rule: the set of its jobs' "resources:" lines} of a dry run."""
    found: dict[str, set[str]] = {}
    for rule, block in job_blocks(output):
        m = re.search(r"(?m)^\s+resources: (.*)$", block)
        found.setdefault(rule, set()).add(m.group(1) if m else "")
    return found


def test_numbers_inside_command_line_config_values(tmp_path):
    # Snakemake leaves nested --config scalars as strings ('2'); the workflow types them.
    config = REPO / "config" / "test.yaml"
    two = job_counts(snakemake(tmp_path, "-n", configfile=config))["train_fold"]
    folds = "folds={'n_folds': 3, 'method': 'depth', 'seed': 0}"
    out = snakemake(tmp_path, "-n", "--config", folds, configfile=config)
    assert job_counts(out)["train_fold"] == two // 2 * 3  # test.yaml has 2 folds


def test_cluster_partitions_from_the_config(tmp_path):
    config = REPO / "config" / "test.yaml"
    unset = job_resources(snakemake(tmp_path, "-n", configfile=config))
    assert not any("slurm_partition" in r for rs in unset.values() for r in rs)
    gpu_only = "cluster={'gpu_partition': 'gpuq'}"
    out = snakemake(tmp_path, "-n", "--config", gpu_only, configfile=config)
    for rule, lines in job_resources(out).items():
        want = "slurm_partition=gpuq" if rule in GPU_RULES else None
        assert all((want in line) if want else "slurm_partition" not in line for line in lines)
    both = "cluster={'partition': 'cpuq', 'gpu_partition': 'gpuq'}"
    found = job_resources(snakemake(tmp_path, "-n", "--config", both, configfile=config))
    assert set(found) >= {"train_fold", "predict_fold", "postprocess", "submission", "synth"}
    for rule, lines in found.items():
        if rule == "all":
            continue
        want = "slurm_partition=gpuq" if rule in GPU_RULES else "slurm_partition=cpuq"
        assert all(want in line for line in lines), (rule, lines)


def test_gpu_jobs_hold_a_gpu_slot_unless_the_device_is_the_cpu(tmp_path):
    # On device: cpu the cores alone bound the training jobs side by side (README, "Running it").
    config = REPO / "config" / "test.yaml"
    for device, want in (("cpu", "gpu=0"), ("auto", "gpu=1"), ("cuda", "gpu=1")):
        out = snakemake(tmp_path, "-n", "--config", f"runtime={{'device': '{device}'}}",
                        configfile=config)  # fmt: skip
        found = job_resources(out)
        assert set(found) >= {"train_fold", "predict_fold", "postprocess"}
        for rule, lines in found.items():
            for line in lines:
                assert bool(re.search(r"\bgpu=\d", line)) == (rule in GPU_RULES), (rule, line)
                assert rule not in GPU_RULES or re.search(rf"\b{want}\b", line), (device, line)


def test_rulegraph_renders(tmp_path):
    out = snakemake(tmp_path, "--rulegraph", "mermaid-js", configfile=REPO / "config" / "demo.yaml")
    for rule in ("train_fold", "make_pseudo_labels", "pretrain_on_pseudo", "postprocess"):
        assert rule in out


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """The whole DAG on the tests config, on the CPU."""
    workdir = tmp_path_factory.mktemp("run")
    config = workdir / "config.yaml"
    shutil.copy(REPO / "config" / "test.yaml", config)
    snakemake(workdir, "--cores", "2", "--resources", "gpu=1", configfile=config)
    return workdir, config


@pytest.mark.slow
def test_whole_dag_writes_a_valid_submission(finished_run):
    workdir, _ = finished_run
    results = workdir / "results"
    sub = submission.read_rle_csv(results / "submission.csv")
    table = pd.read_parquet(results / "data" / "tiles.parquet")
    test_ids = table.loc[table.split == "test", "id"].tolist()
    submission.check_ids(sub["id"].tolist(), test_ids, "submission.csv")
    masks = submission.decode_all(sub, "submission.csv")
    blank = table.set_index("id").loc[sub["id"], "blank"].to_numpy()
    assert not masks[blank].any(), "blank test tiles must be empty"
    score_text = (results / "test_score.txt").read_text()
    score = float(re.search(r"test score: ([0-9.]+)", score_text).group(1))
    assert 0.0 <= score <= 1.0
    report = (results / "report.md").read_text()
    for section in ("Stage 1", "Stage 3", "Final blend", "Pseudo labels for stage2", "Wall time"):
        assert section in report
    assert "![out-of-fold predictions](report/predictions.png)" in report
    assert "OOF metric after post-processing" in report
    oof_rules = pd.read_csv(results / "postprocess" / "oof_ablation.csv").set_index("variant")
    assert 0.0 <= oof_rules.loc["full", "score"] <= 1.0 and "no mosaic" in oof_rules.index
    assert (results / "report" / "predictions.png").stat().st_size > 10_000
    # every stage wrote its OOF table with a blend row
    for stage in ("stage1", "stage2", "stage3"):
        scores = pd.read_csv(results / stage / "blend" / "scores.csv")
        assert scores["model"].iloc[-1] == "blend"
        assert np.isfinite(scores["oof_score"]).all()
    history = pd.read_csv(results / "stage1" / "models" / "a" / "fold0" / "history.csv")
    assert {"epoch", "phase", "lr", "train_loss", "val_metric", "images_per_s"} <= set(history)


@pytest.mark.slow
def test_html_report_holds_the_runs_figures(finished_run):
    workdir, config = finished_run
    snakemake(workdir, "--report", "results/report.html", configfile=config)
    html = (workdir / "results" / "report.html").read_text()
    for entry in (
        "summary.json",  # data, and the mosaics'
        "curves.png",
        "scores.csv",
        "counts.json",
        "predictions.png",
        "mosaics.png",
        "ablation.csv",
        "oof_ablation.csv",
        "stages.png",
        "submission.csv",
        "test_score.txt",
        "post-processing",
        "runtime",
    ):
        assert entry in html, entry
    assert (workdir / "results" / "data" / "summary.json").exists()


@pytest.mark.slow
def test_the_bundle_predicts_new_tiles_as_the_run_did(finished_run, tmp_path):
    from saltseg.io.probs import load_probs

    workdir, _ = finished_run
    results = workdir / "results"
    manifest = json.loads((results / "bundle" / "bundle.json").read_text())
    assert [(m["stage"], m["model"]) for m in manifest["members"]] == [
        ("stage2", "a"), ("stage3", "b"),
    ]  # fmt: skip
    # The run's own test tiles, as a user would give them: a folder of PNGs.
    source = results / "synth" / "test" / "images"
    out = tmp_path / "predicted"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "saltseg.cli", "predict", str(results / "bundle"), str(source),
           str(out), "--device", "cpu", "--threads", "1"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    ids, probs = load_probs(out / "probabilities.npz")
    run_ids, run_probs = load_probs(results / "final" / "test.npz")
    order = {tile: k for k, tile in enumerate(run_ids.astype(str))}
    aligned = run_probs[[order[i] for i in ids.astype(str)]]
    # The same blend of the same fold models: equal up to the run's uint8 roundings.
    assert np.abs(probs - aligned).max() <= 0.02
    sub = pd.read_csv(out / "submission.csv", keep_default_na=False)
    assert sub["id"].tolist() == sorted(p.stem for p in source.glob("*.png"))
    assert len(list((out / "masks").glob("*.png"))) == len(sub)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 1 and "exists and is not empty" in again.stderr


@pytest.mark.slow
def test_predict_target_runs_only_the_prediction(finished_run):
    workdir, config = finished_run
    source = workdir / "results" / "synth" / "test" / "images"
    new = f"predict={{'source': '{source}'}}"
    # The target first: --configfile takes several values and would swallow it.
    plan = snakemake(workdir, "predict", "-n", "--configfile", str(config), "--config", new)
    assert job_counts(plan) == {"predict_new_tiles": 1, "predict": 1}
    snakemake(workdir, "predict", "--cores", "2", "--configfile", str(config), "--config", new)
    out = workdir / "results" / "predict" / "images"
    sub = pd.read_csv(out / "submission.csv", keep_default_na=False)
    assert len(sub) == len(list(source.glob("*.png"))) == len(list((out / "masks").glob("*.png")))
    # and the default target is still complete: nothing of the run was touched
    assert "Nothing to be done" in snakemake(workdir, "-n", configfile=config)


@pytest.mark.slow
def test_the_runs_bundle_predicts_a_segy_section(finished_run, tmp_path):
    # The tests config's bundle (32-px networks, one epoch) finds little salt; this checks the
    # path from a run's bundle through the command. tests/steps/test_section.py measures the IoU
    # with a bundle that has learnt something.
    import segyio

    workdir, _ = finished_run
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cli(*args):
        cmd = [sys.executable, "-m", "saltseg.cli", *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc

    cli("synth-section", tmp_path / "synth", "--seed", 7, "--rows", 2, "--cols", 5)
    out = tmp_path / "out"
    source = tmp_path / "synth" / "section.sgy"
    cli("predict-section", workdir / "results" / "bundle", source, out, "--truth",
        tmp_path / "synth" / "salt.npy", "--device", "cpu", "--threads", "1")  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    mask = np.load(out / "mask.npy")
    assert mask.shape == (202, 505) and summary["shape"] == [202, 505]
    assert 0.0 <= summary["iou"] <= 1.0
    with (
        segyio.open(out / "mask.sgy", ignore_geometry=True) as f,
        segyio.open(source, ignore_geometry=True) as src,
    ):
        assert f.tracecount == src.tracecount == 505
        assert dict(f.header[300]) == dict(src.header[300])  # headers carried over
        np.testing.assert_array_equal(f.trace.raw[:].T, mask.astype(np.float32))


def rerun_counts(workdir: Path, config: Path, edit) -> dict[str, int]:
    # A JSON round trip unshares the YAML anchors, so an edit touches one place only.
    cfg = json.loads(json.dumps(yaml.safe_load(config.read_text())))
    edit(cfg)
    changed = config.with_name("changed.yaml")
    changed.write_text(yaml.safe_dump(cfg))
    out = snakemake(workdir, "-n", configfile=changed)
    return job_counts(out) if "Job stats:" in out else {}


@pytest.mark.slow
def test_stage2_change_reruns_stage2_and_what_follows_only(finished_run):
    workdir, config = finished_run

    def edit(cfg):
        cfg["stages"]["stage2"]["pseudo"]["min_confidence"] = 0.6

    counts = rerun_counts(workdir, config, edit)
    assert counts["make_pseudo_labels"] == 2  # stage 2's, then stage 3's from the new stage 2
    assert counts["pretrain_on_pseudo"] == 1
    assert counts["train_fold"] == 4  # stage 2 and stage 3 folds; none of stage 1
    assert counts["blend_stage"] == 2
    assert "synth" not in counts and "prepare_data" not in counts and "make_folds" not in counts
    assert "build_mosaic" not in counts


@pytest.mark.slow
def test_postprocess_change_reruns_postprocessing_only(finished_run):
    workdir, config = finished_run

    def edit(cfg):
        cfg["postprocess"]["min_component"] = 25

    counts = rerun_counts(workdir, config, edit)
    # The bundle carries the post-processing settings, so it is written again too.
    assert set(counts) == {
        "postprocess", "postprocess_oof", "plot_mosaics", "submission", "report",
        "export_bundle", "all",
    }, counts  # fmt: skip


@pytest.mark.slow
def test_cluster_change_reruns_nothing(finished_run):
    workdir, config = finished_run

    def edit(cfg):
        cfg["cluster"] = {"partition": "cpuq", "gpu_partition": "gpuq"}

    assert rerun_counts(workdir, config, edit) == {}


@pytest.mark.slow
def test_predict_change_reruns_prediction_not_training(finished_run):
    workdir, config = finished_run

    def edit(cfg):
        cfg["stages"]["stage3"]["models"]["b"]["predict"]["tta"] = []

    counts = rerun_counts(workdir, config, edit)
    assert counts["predict_fold"] == 2 and "train_fold" not in counts


def job_threads(output: str) -> dict[str, set[int]]:
    """{rule: the set of its jobs' threads} of a dry run (1 where Snakemake prints none)."""
    found: dict[str, set[int]] = {}
    for rule, block in job_blocks(output):
        m = re.search(r"(?m)^\s+threads: (\d+)$", block)
        found.setdefault(rule, set()).add(int(m.group(1)) if m else 1)
    return found


def test_pretraining_takes_its_own_threads_on_the_cpu(tmp_path):
    # config/test.yaml's stage 2 pretrains; one-thread fold jobs share the cores, the pretraining
    # job runs alone and may take them all (runtime.pretrain_threads).
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    found = {}
    for extra in ({}, {"pretrain_threads": 2}):
        config["runtime"] = {"device": "cpu", "threads": 1, **extra}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        found[bool(extra)] = job_threads(snakemake(tmp_path, "-n", "--cores", "2", configfile=path))
    assert found[False]["pretrain_on_pseudo"] == {1} and found[False]["train_fold"] == {1}
    assert found[True]["pretrain_on_pseudo"] == {2}
    assert found[True]["train_fold"] == {1} and found[True]["predict_fold"] == {1}

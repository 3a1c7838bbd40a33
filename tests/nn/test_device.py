"""Device and precision resolution: what each setting turns on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from saltseg.errors import SaltsegError
from saltseg.nn import device as device_module
from saltseg.nn.device import cpu_has_amx_bf16, resolve_compute


def test_cpu_defaults_to_float32_in_channels_last() -> None:
    # (conftest: no AMX)
    compute = resolve_compute("cpu", threads=1)
    assert compute.device.type == "cpu" and not compute.bf16
    assert compute.layout(torch.zeros(2, 3, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    with compute.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_bf16_autocasts_and_uses_channels_last() -> None:
    # The path a GPU takes ("auto" on Ampere and later), exercised on the CPU.
    compute = resolve_compute("cpu", threads=1, precision="bf16")
    assert compute.bf16
    assert compute.layout(torch.zeros(2, 3, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    with compute.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    model = compute.prepare(torch.nn.Conv2d(3, 4, 3))
    assert model.weight.is_contiguous(memory_format=torch.channels_last)
    assert model.weight.dtype == torch.float32  # autocast casts per op; weights stay float32


@pytest.mark.parametrize(
    ("precision", "amx", "bf16"),
    [("auto", True, True), ("auto", False, False), ("fp32", True, False), ("bf16", False, True)],
)
def test_auto_precision_autocasts_on_cpus_with_amx_only(monkeypatch, precision, amx, bf16) -> None:
    # bf16 trained 6.7x slower than float32 on a CPU without AMX, 1.2x faster on one with it.
    monkeypatch.setattr(device_module, "cpu_has_amx_bf16", lambda: amx)
    assert resolve_compute("cpu", threads=1, precision=precision).bf16 is bf16


def test_amx_detection_reads_the_cpu_capabilities(monkeypatch) -> None:
    # cpu_has_amx_bf16 as imported, not the conftest's stand-in for it
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True}, raising=False)
    assert cpu_has_amx_bf16()
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True}, raising=False)
    assert not cpu_has_amx_bf16()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "fp16"}, "unknown precision 'fp16'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"device": "cpu", "threads": 0}, "threads must be >= 1"),
    ],
)
def test_bad_settings_are_one_line_errors(kwargs, message) -> None:
    with pytest.raises(SaltsegError, match=message):
        resolve_compute(**{"device": "cpu", "threads": 1, **kwargs})


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_cuda_without_a_gpu_is_an_error() -> None:
    with pytest.raises(SaltsegError, match="CUDA is not available"):
        resolve_compute("cuda")


def test_gpu_jobs_each_take_a_gpu_of_their_own(tmp_path, monkeypatch):
    def job() -> int:
        """pick_gpu as a fresh job process would call it (no GPU held yet)."""
        monkeypatch.setattr(device_module, "_held_slots", {})
        return device_module.pick_gpu(3, tmp_path)

    held = []
    for expected in (0, 1, 2):
        assert job() == expected  # the lower GPUs are locked by the earlier "jobs"
        held.append(device_module._held_slots)
        assert device_module.pick_gpu(3, tmp_path) == expected  # the same job keeps its GPU
    assert job() in (0, 1, 2)  # all taken: shared by process id
    held[1][1].close()  # the job on GPU 1 ends
    assert job() == 1
    for slots in held:
        for fh in slots.values():
            fh.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "10000"),  # bounded spinning by default
        ({"GOMP_SPINCOUNT": "500"}, "500"),  # the user's spin count stays
        ({"OMP_WAIT_POLICY": "PASSIVE"}, None),  # a chosen policy is left alone
    ],
)
def test_openmp_spin_default_is_set_before_torch(env: dict, expected: str | None) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = "import os, saltseg; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == str(expected)

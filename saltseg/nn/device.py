"""Pick the torch device and numeric precision, and set up the CPU thread count."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from saltseg.errors import SaltsegError
from saltseg.nn.spec import PRECISIONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compute:
    """Where the network runs and whether its forward pass is autocast to bfloat16."""

    device: torch.device
    bf16: bool = False

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast (no loss scaling needed, unlike fp16), or plain float32."""
        if self.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """Host -> device copy; asynchronous from pinned memory on CUDA."""
        return x.to(self.device, non_blocking=self.cuda)

    # NHWC (channels_last) is the native layout of cuDNN tensor-core and oneDNN convolutions; on
    # 2 CPU cores in float32 it trains 18-48% and predicts 13-40% faster than NCHW (README).
    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """A 4-D network input in the memory format the convolutions want (channels_last)."""
        return x.contiguous(memory_format=torch.channels_last)

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device, in the convolutions' memory format."""
        return model.to(self.device).to(memory_format=torch.channels_last)


_held_slots: dict[int, object] = {}  # GPU index -> its open lock file, held until exit


def pick_gpu(count: int, lock_dir: str | os.PathLike | None = None) -> int:
    """A GPU of ``count`` that no other saltseg job holds, claimed until this process exits.

    With ``--resources gpu=N`` Snakemake runs up to N GPU jobs at once; each takes the first GPU
    whose lock file (one per GPU, in ``lock_dir``: the temporary folder by default) it can lock,
    so N jobs on N GPUs never share one. Locks go with the process, also when it is killed.
    When every GPU is taken (more jobs than GPUs) jobs share them by process id.
    """
    held = [i for i in _held_slots if i < count]
    if held:  # a job predicting twice keeps the GPU it has
        return held[0]
    folder = Path(lock_dir or os.environ.get("SALTSEG_GPU_LOCKS") or tempfile.gettempdir())
    for index in range(count):
        try:  # per user: another user's lock file in a shared /tmp is not ours to open
            fh = open(folder / f"saltseg-gpu{index}-uid{os.getuid()}.lock", "a")  # noqa: SIM115
        except OSError:
            continue
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        _held_slots[index] = fh
        return index
    index = os.getpid() % count
    logger.warning("all %d GPUs are held by other saltseg jobs; sharing cuda:%d", count, index)
    return index


def resolve_device(device: str = "auto", threads: int = 2) -> torch.device:
    """Resolve "auto" to cuda when available, else cpu; on CPU use ``threads`` threads."""
    name = str(device).strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SaltsegError(f"device: unknown device {device!r} (use auto, cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SaltsegError(f"device: {device!r} requested but CUDA is not available")
    if dev.type == "cpu":
        if threads < 1:
            raise SaltsegError(f"device: threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    elif dev.type == "cuda":
        # "cuda" without an index on a machine with several GPUs: a GPU of its own per job.
        if dev.index is None and torch.cuda.device_count() > 1:
            dev = torch.device("cuda", pick_gpu(torch.cuda.device_count()))
            torch.cuda.set_device(dev)
        # TF32 convolutions/matmuls: free speed, no visible effect on segmentation quality.
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    logger.info("using device %s%s", dev, f" with {threads} threads" if dev.type == "cpu" else "")
    return dev


def cpu_has_amx_bf16() -> bool:
    """Whether this CPU has AMX bf16 tiles (``lscpu``: amx_bf16), the CPUs on which "auto" picks
    bf16 autocast: 84 against 69 training images/s on a Xeon with AMX; with avx512_bf16 alone 8.0
    against 9.2 on one CPU, and on an AMD Zen 5 1.15x faster in the workflow but 0.005 lower on
    the real OOF tiles; 4.2 against 28 on an AMD EPYC with AVX2 alone (README)."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)  # newer torch
    if capabilities is not None:
        return bool(capabilities().get("amx_bf16", False))
    amx_tiles = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(amx_tiles()) if amx_tiles is not None else False


def resolve_compute(device: str = "auto", threads: int = 2, precision: str = "auto") -> Compute:
    """The device (see :func:`resolve_device`) and precision: "auto" autocasts to bf16 where
    the hardware runs it natively, GPUs of compute capability >= 8 (Ampere and later) and CPUs
    with AMX (:func:`cpu_has_amx_bf16`), and keeps float32 elsewhere; "bf16" forces autocast
    (emulated, and slow, elsewhere); "fp32" never autocasts."""
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise SaltsegError(
            f"precision: unknown precision {precision!r} (use {', '.join(PRECISIONS)})"
        )
    dev = resolve_device(device, threads)
    if dev.type == "cuda":
        native = torch.cuda.get_device_capability(dev)[0] >= 8
    else:
        native = dev.type == "cpu" and cpu_has_amx_bf16()
    bf16 = native if name == "auto" else name == "bf16"
    if bf16 and not native:
        logger.warning(
            "precision bf16 on a %s without native bf16 is emulated and slow",
            "GPU" if dev.type == "cuda" else dev.type.upper(),
        )
    logger.info("precision %s", "bf16 autocast" if bf16 else "float32")
    return Compute(dev, bf16)


def progress_interval() -> float:
    """Seconds between tqdm refreshes: lively on a terminal, sparse in log files."""
    return 2.0 if sys.stderr.isatty() else 30.0

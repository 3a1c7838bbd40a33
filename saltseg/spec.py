"""The model spec: one trained model family (network, input, augmentation, training, prediction).

``ModelSpec.from_dict`` validates a plain dict (as read from the config YAML) and raises a
one-line SaltsegError for unknown keys or bad values; ``to_dict`` gives back a plain dict that
round-trips and is what checkpoints store. Only structure and values are checked here (no torch
import); encoder names are checked when the network is built (saltseg.model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from saltseg.errors import SaltsegError

TILE = 101
ARCHS = (
    "Unet",
    "UnetPlusPlus",
    "MAnet",
    "Linknet",
    "FPN",
    "PSPNet",
    "DeepLabV3",
    "DeepLabV3Plus",
    "PAN",
    "UPerNet",
    "Segformer",
    "DPT",
)
CHANNELS = ("image", "depth", "ramp", "image_ramp")
LOSSES = ("bce", "dice", "lovasz", "lovasz_elu")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
SCHEDULES = ("constant", "cosine", "plateau")
TTAS = ("hflip",)
SNAPSHOT_SETS = ("best", "final", "cycles", "all")
DEFAULT_DECODER = (256, 128, 64, 32, 16)
_MISSING = object()


class _Section:
    """Reads typed values from one mapping and remembers which keys were used."""

    def __init__(self, data: Any, path: str, source: str):
        self.path, self.source = path, source
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.fail(f"expected a mapping, got {type(data).__name__}")
        self.data = dict(data)
        self.used: set[str] = set()

    def fail(self, problem: str, key: str | None = None) -> None:
        where = ".".join(p for p in (self.path, key) if p)
        raise SaltsegError(f"{self.source}: {where or 'spec'}: {problem}")

    def get(self, key: str, convert: Callable[[Any], Any], default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                self.fail("required but missing", key)
            return default
        try:
            return convert(self.data[key])
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), key)

    def sub(self, key: str) -> _Section:
        self.used.add(key)
        return _Section(self.data.get(key), ".".join(p for p in (self.path, key) if p), self.source)

    def done(self, hint: dict[str, str] | None = None) -> None:
        for key in self.data:
            if key not in self.used:
                extra = (hint or {}).get(key)
                allowed = ", ".join(sorted(self.used))
                self.fail(extra or f"unknown key (allowed: {allowed})", str(key))


# Converters: raise ValueError/TypeError with a short message; _Section adds the key path.
def _int(lo: int | None = None) -> Callable[[Any], int]:
    def conv(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {v!r}")
        if lo is not None and v < lo:
            raise ValueError(f"must be >= {lo}, got {v}")
        return v

    return conv


def _float(lo: float | None = None, hi: float | None = None) -> Callable[[Any], float]:
    def conv(v: Any) -> float:
        # PyYAML reads "1e-3" (no dot) as a string; accept it rather than surprise the user.
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ValueError(f"expected a number, got {v!r}")
        try:
            x = float(v)
        except ValueError:
            raise ValueError(f"expected a number, got {v!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"must be finite, got {v!r}")
        if lo is not None and x < lo:
            raise ValueError(f"must be >= {lo}, got {x}")
        if hi is not None and x > hi:
            raise ValueError(f"must be <= {hi}, got {x}")
        return x

    return conv


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _choice(options: tuple[str, ...], *, case: bool = True) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        for o in options:
            if v == o or (not case and isinstance(v, str) and v.lower() == o.lower()):
                return o
        raise ValueError(f"unknown value {v!r} (choose from {', '.join(options)})")

    return conv


def _optional(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else conv(v)


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError(f"expected a non-empty string, got {v!r}")
    return v


def _list_of(conv: Callable[[Any], Any], *, unique: bool = False) -> Callable[[Any], list]:
    def inner(v: Any) -> list:
        if not isinstance(v, list | tuple):
            raise ValueError(f"expected a list, got {v!r}")
        out = [conv(x) for x in v]
        if unique and len(set(out)) != len(out):
            raise ValueError(f"duplicates in {v!r}")
        return out

    return inner


@dataclass
class NetworkSpec:
    arch: str = "Unet"
    encoder: str = "resnet34"
    encoder_weights: str | None = None
    encoder_depth: int = 5
    # None: the architecture's default (for list-style decoders, the last encoder_depth entries
    # of smp's (256, 128, 64, 32, 16)).
    decoder_channels: list[int] | int | None = None
    decoder_attention: str | None = None
    classifier_head: bool = False
    classifier_weight: float = 0.1

    @classmethod
    def parse(cls, s: _Section) -> NetworkSpec:
        def channels(v: Any) -> list[int] | int:
            return _int(1)(v) if isinstance(v, int) else _list_of(_int(1))(v)

        out = cls(
            arch=s.get("arch", _choice(ARCHS, case=False), cls.arch),
            encoder=s.get("encoder", _str, cls.encoder),
            encoder_weights=s.get("encoder_weights", _optional(_choice(("imagenet",))), None),
            encoder_depth=s.get("encoder_depth", _int(1), cls.encoder_depth),
            decoder_channels=s.get("decoder_channels", _optional(channels), None),
            decoder_attention=s.get("decoder_attention", _optional(_choice(("scse",))), None),
            classifier_head=s.get("classifier_head", _bool, cls.classifier_head),
            classifier_weight=s.get("classifier_weight", _float(0.0), cls.classifier_weight),
        )
        s.done()
        if out.encoder_depth > 5:
            s.fail(f"must be <= 5, got {out.encoder_depth}", "encoder_depth")
        dc = out.decoder_channels
        if isinstance(dc, list) and len(dc) != out.encoder_depth:
            s.fail(
                f"has {len(dc)} entries for encoder_depth {out.encoder_depth}; give one per stage",
                "decoder_channels",
            )
        return out


@dataclass
class InputSpec:
    resize: int | None = None
    pad: int = 128
    channels: list[str] = field(default_factory=lambda: ["image"])

    @property
    def inner(self) -> int:
        """Side of the tile after resizing, before padding."""
        return self.resize or TILE

    @classmethod
    def parse(cls, s: _Section) -> InputSpec:
        out = cls(
            resize=s.get("resize", _optional(_int(16)), None),
            pad=s.get("pad", _int(16), cls.pad),
            channels=s.get("channels", _list_of(_choice(CHANNELS), unique=True), ["image"]),
        )
        s.done()
        if not out.channels:
            s.fail("needs at least one channel", "channels")
        if out.pad < out.inner:
            s.fail(f"{out.pad} is smaller than the resized tile ({out.inner})", "pad")
        # Reflection cannot reach further than the tile itself.
        if out.pad - out.inner - (out.pad - out.inner) // 2 >= out.inner:
            s.fail(f"{out.pad} needs more reflection than a {out.inner}-pixel tile allows", "pad")
        return out


@dataclass
class ShiftScaleSpec:
    p: float = 0.5
    shift: float = 0.0625
    scale: float = 0.1
    rotate: float = 0.0

    @classmethod
    def parse(cls, s: _Section) -> ShiftScaleSpec:
        out = cls(
            p=s.get("p", _float(0.0, 1.0), cls.p),
            shift=s.get("shift", _float(0.0, 0.5), cls.shift),
            scale=s.get("scale", _float(0.0, 0.9), cls.scale),
            rotate=s.get("rotate", _float(0.0, 180.0), cls.rotate),
        )
        s.done()
        return out


@dataclass
class AugmentSpec:
    hflip: float = 0.5
    brightness: float = 0.2  # RandomBrightnessContrast limits, applied with p = 0.5
    contrast: float = 0.2
    shift_scale: ShiftScaleSpec | None = field(default_factory=ShiftScaleSpec)

    @classmethod
    def parse(cls, s: _Section, *, disabled: bool) -> AugmentSpec:
        if disabled:  # `augment: null` switches augmentation off entirely
            return cls(hflip=0.0, brightness=0.0, contrast=0.0, shift_scale=None)
        out = cls(
            hflip=s.get("hflip", _float(0.0, 1.0), cls.hflip),
            brightness=s.get("brightness", _float(0.0, 1.0), cls.brightness),
            contrast=s.get("contrast", _float(0.0, 1.0), cls.contrast),
        )
        s.used.add("shift_scale")
        if "shift_scale" not in s.data:
            out.shift_scale = ShiftScaleSpec()
        elif s.data["shift_scale"] is None:
            out.shift_scale = None
        else:
            out.shift_scale = ShiftScaleSpec.parse(s.sub("shift_scale"))
        no_vflip = "vertical flips are not supported: they are physically wrong for seismic"
        s.done({"vflip": no_vflip, "vertical_flip": no_vflip})
        return out


@dataclass
class OptimizerSpec:
    name: str = "adam"
    lr: float = 1.0e-3
    momentum: float = 0.9  # sgd and rmsprop only
    weight_decay: float = 0.0

    @classmethod
    def parse(cls, s: _Section) -> OptimizerSpec:
        out = cls(
            name=s.get("name", _choice(OPTIMIZERS, case=False), cls.name),
            lr=s.get("lr", _float(0.0), cls.lr),
            momentum=s.get("momentum", _float(0.0, 1.0), cls.momentum),
            weight_decay=s.get("weight_decay", _float(0.0), cls.weight_decay),
        )
        s.done()
        if out.lr <= 0:
            s.fail("must be > 0", "lr")
        return out


@dataclass
class ScheduleSpec:
    name: str = "constant"
    cycles: int = 1  # cosine
    min_lr: float = 0.0  # cosine, plateau
    factor: float = 0.5  # plateau
    patience: int = 3  # plateau

    @classmethod
    def parse(cls, s: _Section) -> ScheduleSpec:
        name = s.get("name", _choice(SCHEDULES, case=False), cls.name)
        out = cls(name=name)
        if name == "cosine":
            out.cycles = s.get("cycles", _int(1), cls.cycles)
            out.min_lr = s.get("min_lr", _float(0.0), cls.min_lr)
        elif name == "plateau":
            out.factor = s.get("factor", _float(0.0, 1.0), cls.factor)
            out.patience = s.get("patience", _int(0), cls.patience)
            out.min_lr = s.get("min_lr", _float(0.0), cls.min_lr)
            if not 0 < out.factor < 1:
                s.fail(f"must be between 0 and 1 (exclusive), got {out.factor}", "factor")
        s.done()
        return out

    def to_dict(self) -> dict[str, Any]:
        keys = {
            "constant": (),
            "cosine": ("cycles", "min_lr"),
            "plateau": ("factor", "patience", "min_lr"),
        }
        return {"name": self.name, **{k: getattr(self, k) for k in keys[self.name]}}


@dataclass
class PhaseSpec:
    name: str
    loss: dict[str, float]
    optimizer: OptimizerSpec
    schedule: ScheduleSpec
    epochs: int
    early_stopping: int | None = None

    @classmethod
    def parse(cls, s: _Section, index: int) -> PhaseSpec:
        loss_s = s.sub("loss")
        if not loss_s.data:
            loss_s.fail("needs at least one term (any of " + ", ".join(LOSSES) + ")")
        loss = {}
        for key in list(loss_s.data):
            if key not in LOSSES:
                loss_s.fail(f"unknown loss (choose from {', '.join(LOSSES)})", str(key))
            loss[key] = loss_s.get(key, _float(0.0))
        if not any(w > 0 for w in loss.values()):
            loss_s.fail("all weights are zero")
        out = cls(
            name=s.get("name", _str, f"phase{index}"),
            loss=loss,
            optimizer=OptimizerSpec.parse(s.sub("optimizer")),
            schedule=ScheduleSpec.parse(s.sub("schedule")),
            epochs=s.get("epochs", _int(1)),
            early_stopping=s.get("early_stopping", _optional(_int(1)), None),
        )
        s.done()
        if out.schedule.name == "cosine" and out.epochs % out.schedule.cycles:
            s.fail(
                f"{out.epochs} epochs do not split into {out.schedule.cycles} equal cosine cycles",
                "epochs",
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "loss": dict(self.loss),
            "optimizer": asdict(self.optimizer),
            "schedule": self.schedule.to_dict(),
            "epochs": self.epochs,
            "early_stopping": self.early_stopping,
        }


@dataclass
class TrainSpec:
    phases: list[PhaseSpec]
    batch_size: int = 32
    # DataLoader worker processes; None = 0 on CPU (augmentation in the main process is cheaper
    # than inter-process traffic on a few cores), a few on CUDA.
    num_workers: int | None = None

    @classmethod
    def parse(cls, s: _Section) -> TrainSpec:
        batch_size = s.get("batch_size", _int(1), cls.batch_size)
        num_workers = s.get("num_workers", _optional(_int(0)), None)
        raw = s.get("phases", _list_of(lambda v: v))
        if not raw:
            s.fail("needs at least one phase", "phases")
        phases = [
            PhaseSpec.parse(_Section(p, f"{s.path}.phases[{i}]", s.source), i + 1)
            for i, p in enumerate(raw)
        ]
        names = [p.name for p in phases]
        if len(set(names)) != len(names):
            s.fail(f"phase names must be unique, got {names}", "phases")
        s.done()
        return cls(phases=phases, batch_size=batch_size, num_workers=num_workers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "phases": [p.to_dict() for p in self.phases],
        }


@dataclass
class PredictSpec:
    batch_size: int = 64
    tta: list[str] = field(default_factory=lambda: ["hflip"])
    snapshots: str | list[str] = "best"
    # With a classifier head: zero the maps of images whose empty/non-empty probability is below it.
    classifier_threshold: float | None = None

    @classmethod
    def parse(cls, s: _Section) -> PredictSpec:
        out = cls(
            batch_size=s.get("batch_size", _int(1), cls.batch_size),
            tta=s.get("tta", _optional(_list_of(_choice(TTAS), unique=True)), ["hflip"]) or [],
            snapshots=s.get("snapshots", parse_snapshots, cls.snapshots),
            classifier_threshold=s.get("classifier_threshold", _optional(_float(0.0, 1.0)), None),
        )
        s.done()
        return out


def parse_snapshots(v: Any) -> str | list[str]:
    """A snapshot selection: best | final | cycles | all | a list of snapshot names."""
    if isinstance(v, str):
        return _choice(SNAPSHOT_SETS)(v)
    names = _list_of(_str, unique=True)(v)
    if not names:
        raise ValueError("empty list of snapshots")
    return names


@dataclass
class ModelSpec:
    train: TrainSpec
    model: NetworkSpec = field(default_factory=NetworkSpec)
    input: InputSpec = field(default_factory=InputSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    predict: PredictSpec = field(default_factory=PredictSpec)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "model spec") -> ModelSpec:
        """Validate a spec dict; ``source`` (e.g. "config.yaml: stage1.models.a") starts errors."""
        top = _Section(d, "", source)
        aug_disabled = "augment" in top.data and top.data["augment"] is None
        spec = cls(
            model=NetworkSpec.parse(top.sub("model")),
            input=InputSpec.parse(top.sub("input")),
            augment=AugmentSpec.parse(top.sub("augment"), disabled=aug_disabled),
            train=TrainSpec.parse(top.sub("train")),
            predict=PredictSpec.parse(top.sub("predict")),
        )
        top.done()
        stride = 2**spec.model.encoder_depth
        if spec.input.pad % stride:
            top.fail(
                f"{spec.input.pad} is not a multiple of {stride} (2 ** encoder_depth)", "input.pad"
            )
        return spec

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": asdict(self.model),
            "input": asdict(self.input),
            "augment": asdict(self.augment),
            "train": self.train.to_dict(),
            "predict": asdict(self.predict),
        }

    @property
    def in_channels(self) -> int:
        return len(self.input.channels)

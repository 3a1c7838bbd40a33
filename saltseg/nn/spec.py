"""The model spec: one trained model family (network, input, augmentation, training, prediction).

``ModelSpec.from_dict`` validates a plain dict (as read from the config YAML) and raises a
one-line SaltsegError for unknown keys or bad values; ``to_dict`` gives back a plain dict that
round-trips and is what checkpoints store. Only structure and values are checked here (no torch
import); encoder names are checked when the network is built (saltseg.nn.network).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_serializer, model_validator

from saltseg.data.tileset import TILE
from saltseg.options import Bool, Fraction, Int, Number, Options, choice, describe, unique_list

SALTNET = "SaltNet"  # saltseg's own family (saltseg.nn.saltnet); the others are smp's
ARCHS = (
    SALTNET,
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
CHANNELS = ("image", "depth", "ramp", "image_ramp", "image_tile", "envelope")
LOSSES = ("bce", "dice", "lovasz", "lovasz_elu", "lovasz_symmetric")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "cosine", "plateau")
TTAS = ("hflip",)
SNAPSHOT_SETS = ("best", "final", "cycles", "all", "ema")
DEFAULT_DECODER = (256, 128, 64, 32, 16)
ATTENTION_ARCHS = (SALTNET, "Unet", "UnetPlusPlus")  # architectures with decoder attention
STEMS = ("standard", "stride1")
UPSAMPLES = ("bilinear", "transpose")
LOSS_GRIDS = ("network", "tile")  # train.loss_at
# The keys each schedule uses besides its name.
SCHEDULE_KEYS = {
    "constant": (),
    "cosine": ("cycles", "min_lr"),
    "plateau": ("factor", "patience", "min_lr"),
}
DEVICES = ("auto", "cpu", "cuda")  # where training and prediction run (saltseg.nn.device)
PRECISIONS = ("auto", "bf16", "fp32")
NO_VFLIP = "vertical flips are not supported: they are physically wrong for seismic"

PositiveInt = Annotated[Int, Field(ge=1)]
SALTNET_KEYS = (
    "encoder_attention",
    "center",
    "hypercolumn",
    "stem",
    "decoder_upsample",
    "deep_supervision",
)
# Network settings that decide the weights' shapes: what a checkpoint to start from must share.
SHAPE_KEYS = (
    "arch",
    "encoder",
    "encoder_depth",
    "decoder_channels",
    "decoder_attention",
    *SALTNET_KEYS,
)


class NetworkSpec(Options):
    """The network: architecture, encoder and decoder, optional heads. The keys from
    encoder_attention to deep_supervision are SaltNet's (saltseg.nn.saltnet), each off by
    default."""

    arch: choice(*ARCHS, case=False) = "Unet"
    encoder: Annotated[str, Field(min_length=1)] = "resnet34"
    encoder_weights: choice("imagenet") | None = None
    encoder_depth: Annotated[Int, Field(ge=1, le=5)] = 5
    # None: the architecture's default (for list-style decoders, the last encoder_depth entries
    # of smp's (256, 128, 64, 32, 16)).
    decoder_channels: list[PositiveInt] | PositiveInt | None = None
    decoder_attention: choice("scse") | None = None
    classifier_head: Bool = False
    classifier_weight: Annotated[Number, Field(ge=0.0)] = 0.1
    encoder_attention: choice("scse") | None = None  # scSE after every encoder stage
    center: choice("fpa") | None = None  # Feature Pyramid Attention between encoder and decoder
    hypercolumn: Bool = False  # the final map from all decoder levels, upsampled and concatenated
    stem: choice(*STEMS) = "standard"  # stride1: ResNet's 7x7/2 conv -> 3x3/1, no first max-pool
    decoder_upsample: choice(*UPSAMPLES) = "bilinear"
    # An image head and one pixel head per decoder level: image BCE on every image (weight
    # classifier_weight), the levels' pixel loss on non-empty images (deep_supervision_weight).
    deep_supervision: Bool = False
    deep_supervision_weight: Annotated[Number, Field(ge=0.0)] = 0.1

    @property
    def image_head(self) -> bool:
        """Whether the network predicts an empty/non-empty logit per image."""
        return self.classifier_head or self.deep_supervision

    @property
    def downsampling(self) -> int:
        """The encoder's total stride (a stride-1 stem removes two halvings)."""
        halvings = self.encoder_depth - (2 if self.stem == "stride1" else 0)
        return 2 ** max(halvings, 0)

    @model_validator(mode="after")
    def _saltnet_keys(self) -> NetworkSpec:
        if self.arch == SALTNET:
            if self.stem == "stride1" and self.encoder_depth < 2:
                raise ValueError("stem: stride1 needs encoder_depth >= 2")
            return self
        defaults = type(self).model_fields
        for key in SALTNET_KEYS:
            if getattr(self, key) != defaults[key].default:
                raise ValueError(f"{key}: only the {SALTNET} architecture has it, not {self.arch}")
        return self

    @model_validator(mode="after")
    def _decoder_fits(self) -> NetworkSpec:
        dc = self.decoder_channels
        if isinstance(dc, list) and len(dc) != self.encoder_depth:
            raise ValueError(
                f"decoder_channels has {len(dc)} entries for encoder_depth "
                f"{self.encoder_depth}; give one per encoder level"
            )
        if self.decoder_attention is not None:
            if self.arch not in ATTENTION_ARCHS:
                raise ValueError(
                    f"decoder_attention: {self.arch} has no decoder attention "
                    f"({' and '.join(ATTENTION_ARCHS)} do)"
                )
            small = [c for c in dc if c < 16] if isinstance(dc, list) else []
            if small:  # smp's scSE squeezes channels by 16; fewer than 16 leaves zero channels
                raise ValueError(f"decoder_attention: scse needs decoder_channels >= 16: {small}")
        return self


class InputSpec(Options):
    """101x101 tile -> optional bilinear resize -> reflect-pad; the input channels."""

    resize: Annotated[Int, Field(ge=16)] | None = None
    pad: Annotated[Int, Field(ge=16)] = 128
    channels: Annotated[unique_list(choice(*CHANNELS)), Field(min_length=1)] = ["image"]

    @property
    def inner(self) -> int:
        """Side of the tile after resizing, before padding."""
        return self.resize or TILE

    @model_validator(mode="after")
    def _pad_fits(self) -> InputSpec:
        if self.pad < self.inner:
            raise ValueError(f"pad {self.pad} is smaller than the resized tile ({self.inner})")
        # Reflection cannot reach further than the tile itself.
        if self.pad - self.inner - (self.pad - self.inner) // 2 >= self.inner:
            raise ValueError(
                f"pad {self.pad} needs more reflection than a {self.inner}-pixel tile allows"
            )
        return self


class ShiftScaleSpec(Options):
    """Random shift, scale and rotation (albumentations Affine with reflected borders)."""

    p: Fraction = 0.5
    shift: Annotated[Number, Field(ge=0.0, le=0.5)] = 0.0625
    scale: Annotated[Number, Field(ge=0.0, le=0.9)] = 0.1
    rotate: Annotated[Number, Field(ge=0.0, le=180.0)] = 0.0


class AugmentSpec(Options):
    """Training augmentation; ``augment: null`` in a spec switches all of it off."""

    hflip: Fraction = 0.5
    brightness: Fraction = 0.2  # RandomBrightnessContrast limits, applied with p = 0.5
    contrast: Fraction = 0.2
    shift_scale: ShiftScaleSpec | None = ShiftScaleSpec()

    @model_validator(mode="before")
    @classmethod
    def _no_vertical_flip(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"vflip", "vertical_flip"} & set(data)):
            raise ValueError(NO_VFLIP)
        return data


AUGMENT_OFF = {"hflip": 0.0, "brightness": 0.0, "contrast": 0.0, "shift_scale": None}


class OptimizerSpec(Options):
    name: choice(*OPTIMIZERS, case=False) = "adam"
    lr: Annotated[Number, Field(gt=0.0)] = 1.0e-3
    momentum: Fraction = 0.9  # sgd and rmsprop only
    weight_decay: Annotated[Number, Field(ge=0.0)] = 0.0


class ScheduleSpec(Options):
    """Learning-rate schedule: constant, cosine (restarted ``cycles`` times, a snapshot at the
    end of each) or plateau (ReduceLROnPlateau on the validation metric); each takes only its
    own keys (see SCHEDULE_KEYS)."""

    name: choice(*SCHEDULES, case=False) = "constant"
    cycles: PositiveInt = 1  # cosine
    min_lr: Annotated[Number, Field(ge=0.0)] = 0.0  # cosine, plateau
    factor: Annotated[Number, Field(gt=0.0, lt=1.0)] = 0.5  # plateau
    patience: Annotated[Int, Field(ge=0)] = 3  # plateau

    @model_validator(mode="before")
    @classmethod
    def _only_own_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = str(data.get("name", "constant")).lower()
        if name in SCHEDULE_KEYS:
            extra = [k for k in data if k != "name" and k not in SCHEDULE_KEYS[name]]
            if extra:
                own = ", ".join(("name", *SCHEDULE_KEYS[name]))
                raise ValueError(f"unknown key {extra[0]!r} for a {name} schedule (keys: {own})")
        return data

    @model_serializer(mode="wrap")
    def _own_keys(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        return {k: v for k, v in out.items() if k == "name" or k in SCHEDULE_KEYS[self.name]}


Loss = dict[str, Annotated[Number, Field(ge=0.0)]]


class PhaseSpec(Options):
    """One training phase: a weighted loss, an optimizer, a schedule, a number of epochs."""

    name: Annotated[str, Field(min_length=1)]
    loss: Loss
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    epochs: PositiveInt
    early_stopping: PositiveInt | None = None

    @field_validator("loss", mode="before")
    @classmethod
    def _known_losses(cls, v: Any) -> Any:
        if isinstance(v, dict):
            if not v:
                raise ValueError("needs at least one term (any of " + ", ".join(LOSSES) + ")")
            unknown = [k for k in v if k not in LOSSES]
            if unknown:
                raise ValueError(f"unknown loss {unknown[0]!r} (choose from {', '.join(LOSSES)})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PhaseSpec:
        if not any(w > 0 for w in self.loss.values()):
            raise ValueError("loss: all weights are zero")
        if self.schedule.name == "cosine" and self.epochs % self.schedule.cycles:
            raise ValueError(
                f"{self.epochs} epochs do not split into {self.schedule.cycles} equal cosine cycles"
            )
        return self


class SmallSaltSpec(Options):
    """Draw the tiles with a little salt more often (with replacement, epoch length unchanged)."""

    below: Annotated[Number, Field(gt=0.0, le=1.0)] = 0.05  # salt covers more than 0, under this
    weight: Annotated[Number, Field(gt=0.0)] = 2.0  # times as often as any other tile


class TrainSpec(Options):
    phases: Annotated[list[PhaseSpec], Field(min_length=1)]
    batch_size: PositiveInt = 32
    # DataLoader worker processes; None = 0 on CPU (augmentation in the main process is cheaper
    # than inter-process traffic on a few cores), a few on CUDA.
    num_workers: Annotated[Int, Field(ge=0)] | None = None
    # Validate after every n-th epoch of a phase and after its last: validation of a fold's
    # held-out tiles takes about a seventh of a CPU epoch, so n > 1 buys epochs when the snapshots
    # kept are the final ones. "best" snapshots and early stopping see only validated epochs.
    validate_every: PositiveInt = 1
    # Where the loss compares prediction and truth: "network", the truth resized (and
    # thresholded) to the network's grid; "tile", the logits mapped back to 101x101 (crop, then
    # bilinear) against the true mask. With a resize, a perfect network on the network grid
    # scores only 0.958 on the real salt tiles at 56 px (the thresholded truth's round trip);
    # "tile" lets it learn the sub-pixel boundary the 101-px metric scores. On the real tiles it
    # led after 16 epochs, not after 50 (docs/real_data.md, "The loss on the tile").
    loss_at: choice(*LOSS_GRIDS) = "network"
    # An exponential moving average of the weights (and BatchNorm statistics), updated after
    # every optimizer step with this decay (0.999: about the last 1,000 steps) and saved as the
    # snapshot "ema" (predict with ``snapshots: ema``); null: none.
    ema: Annotated[Number, Field(gt=0.0, lt=1.0)] | None = None
    # Tiles with under ``below`` salt lose a third of the real OOF metric (docs/real_data.md,
    # "Where the OOF metric is lost"); this draws them ``weight`` times as often. null: every
    # tile equally often. On a real fold, weights 2 and 4 scored 0.726 and 0.722 against 0.729
    # (docs/real_data.md, "Drawing the small bodies more often"): the small bodies did not gain,
    # the other tiles lost.
    small_salt: SmallSaltSpec | None = None
    # The seed set of a run: fold model k is seeded ``seed + k``, a pretraining ``seed``. A
    # six-fold OOF metric moves by about 0.005 with the seeds alone (docs/real_data.md), so a
    # second seed set (e.g. 100) tells a gain from the noise.
    seed: Annotated[Int, Field(ge=0)] = 0

    @model_validator(mode="before")
    @classmethod
    def _name_phases(cls, data: Any) -> Any:
        # A phase without a name is "phase<k>", k counting from 1.
        if isinstance(data, dict) and isinstance(data.get("phases"), list):
            phases = [
                {"name": f"phase{i}", **p} if isinstance(p, dict) and "name" not in p else p
                for i, p in enumerate(data["phases"], start=1)
            ]
            data = {**data, "phases": phases}
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> TrainSpec:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        return self


Snapshots = (
    choice(*SNAPSHOT_SETS)
    | Annotated[unique_list(Annotated[str, Field(min_length=1)]), Field(min_length=1)]
)


class PredictSpec(Options):
    batch_size: PositiveInt = 64
    tta: unique_list(choice(*TTAS)) = ["hflip"]
    # TTA for the test tiles when it should differ from the OOF tiles' (None: the same): on a
    # CPU, hflip doubles the cost of predicting 19,000 test tiles for a few thousandths. The
    # thresholds measured on the OOF maps (postprocess "oof", classifier "oof") then come from
    # maps predicted with ``tta`` and are applied to maps predicted with ``test_tta``.
    test_tta: unique_list(choice(*TTAS)) | None = None
    # best | final | cycles | all | ema (with train.ema) | a list of snapshot names
    snapshots: Snapshots = "best"
    # With an image head (classifier_head or deep_supervision): zero the maps of images whose
    # salt probability is below it; "oof": the threshold that maximises each fold's OOF metric.
    classifier_threshold: Fraction | choice("oof") | None = None
    # torch.compile the network for prediction: 1.44x faster on 2 CPU cores for cpu.yaml's
    # network, for one to two minutes of compiling once (seconds from inductor's cache after
    # that); worth it for thousands of tiles (saltseg.nn.compiled).
    compile: Bool = False

    @field_validator("tta", mode="before")
    @classmethod
    def _no_tta(cls, v: Any) -> Any:
        return [] if v is None else v


class ModelSpec(Options):
    """Everything one trained model family needs; what a checkpoint stores."""

    model: NetworkSpec = NetworkSpec()
    input: InputSpec = InputSpec()
    augment: AugmentSpec = AugmentSpec()
    train: TrainSpec
    predict: PredictSpec = PredictSpec()

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_off(cls, v: Any) -> Any:
        return AUGMENT_OFF if v is None else v  # `augment: null` switches augmentation off

    @model_validator(mode="after")
    def _pad_fits_the_encoder(self) -> ModelSpec:
        stride = self.model.downsampling
        if self.input.pad % stride:
            raise ValueError(
                f"input.pad: {self.input.pad} is not a multiple of {stride} (the encoder's stride)"
            )
        return self

    @model_validator(mode="after")
    def _image_head_for_threshold(self) -> ModelSpec:
        if self.predict.classifier_threshold is not None and not self.model.image_head:
            raise ValueError(
                "predict.classifier_threshold: the network has no image head "
                "(model.classifier_head or model.deep_supervision)"
            )
        return self

    @model_validator(mode="after")
    def _ema_snapshot_needs_ema(self) -> ModelSpec:
        wanted = self.predict.snapshots
        if "ema" in ([wanted] if isinstance(wanted, str) else wanted) and self.train.ema is None:
            raise ValueError("predict.snapshots: 'ema' needs train.ema (the average's decay)")
        return self

    @classmethod
    def from_dict(cls, d: Any, source: str = "model spec") -> ModelSpec:
        """Validate a spec dict; ``source`` (e.g. "config.yaml: stage1.models.a") starts errors."""
        return cls.parse(d, source)

    @property
    def in_channels(self) -> int:
        return len(self.input.channels)


def parse_snapshots(v: Any) -> str | list[str]:
    """A snapshot selection: best | final | cycles | all | ema | a list of snapshot names; a
    one-line ValueError otherwise."""
    try:
        return PredictSpec.model_validate({"snapshots": v}).snapshots
    except ValidationError as exc:
        raise ValueError(describe(exc).removeprefix("snapshots: ")) from None

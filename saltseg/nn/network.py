"""Build the segmentation network described by a NetworkSpec: an smp architecture or SaltNet."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import segmentation_models_pytorch as smp
import torch
from torch import nn

from saltseg.errors import SaltsegError
from saltseg.nn.outputs import split_outputs
from saltseg.nn.saltnet import SaltNet
from saltseg.nn.saltnet.encoder import drop_unused_layers
from saltseg.nn.spec import DEFAULT_DECODER, SALTNET, NetworkSpec

logger = logging.getLogger(__name__)


def build_model(spec: NetworkSpec, in_channels: int, *, pretrained: bool = True) -> nn.Module:
    """The network for ``spec`` with ``in_channels`` inputs and one output map.

    ``pretrained=False`` skips downloading encoder weights (they are about to be overwritten by a
    checkpoint). smp models with a classifier head return (mask_logits, class_logits), SaltNet
    returns Outputs; :func:`split_outputs` reads either.
    """
    weights = spec.encoder_weights if pretrained else None
    if weights is not None and spec.encoder.startswith("tu-"):
        weights = True  # timm encoders take a flag; the variant is part of the encoder name
    with _spec_errors(spec):
        if spec.arch == SALTNET:
            encoder = smp.encoders.get_encoder(
                spec.encoder, in_channels=in_channels, depth=spec.encoder_depth, weights=weights
            )
            model = SaltNet(encoder, spec, in_channels)
        else:
            model = _smp_model(spec, in_channels, weights)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("built %s/%s with %.2fM parameters", spec.arch, spec.encoder, n_params / 1e6)
    return model


def _smp_model(spec: NetworkSpec, in_channels: int, weights: str | bool | None) -> nn.Module:
    arch_cls = smp.MODEL_ARCHITECTURES_MAPPING[spec.arch.lower()]
    params = inspect.signature(arch_cls.__init__).parameters
    kwargs: dict = {
        "encoder_name": spec.encoder,
        "encoder_depth": spec.encoder_depth,
        "in_channels": in_channels,
        "classes": 1,
        "encoder_weights": weights,
    }
    if "encoder_depth" not in params:
        kwargs.pop("encoder_depth")
    decoder = spec.decoder_channels
    if decoder is None and isinstance(params.get("decoder_channels"), inspect.Parameter):
        default = params["decoder_channels"].default
        if isinstance(default, tuple | list):
            decoder = list(DEFAULT_DECODER[-spec.encoder_depth :])
    if decoder is not None:
        if "decoder_channels" not in params:
            raise SaltsegError(f"model spec: model.decoder_channels: not used by {spec.arch}")
        kwargs["decoder_channels"] = decoder
    if spec.decoder_attention is not None:  # the spec checked the architecture has it
        kwargs["decoder_attention_type"] = spec.decoder_attention
    if spec.classifier_head:
        kwargs["aux_params"] = {"classes": 1, "dropout": 0.2}
    model = arch_cls(**kwargs)
    # A ResNet encoder cut to depth 3 still carries layer3/layer4 (10 of resnet18's 11M
    # parameters): dead weight in every checkpoint and every optimizer step.
    drop_unused_layers(model.encoder, spec.encoder_depth)
    return model


@contextmanager
def _spec_errors(spec: NetworkSpec) -> Iterator[None]:
    """One-line SaltsegErrors for what smp, timm and the hub raise on a bad spec or offline."""
    try:
        yield
    except KeyError as exc:  # smp's message for an unknown encoder lists every encoder; shorten
        msg = str(exc)
        if "Wrong encoder name" in msg:
            msg = f"unknown encoder {spec.encoder!r} (see smp.encoders.get_encoder_names())"
        raise SaltsegError(f"model spec: model: {msg}") from None
    except RuntimeError as exc:
        if "Unknown model" in str(exc):  # timm
            raise SaltsegError(
                f"model spec: model.encoder: unknown timm model {spec.encoder!r}"
            ) from None
        raise
    except OSError as exc:  # huggingface_hub errors derive from OSError
        raise SaltsegError(
            f"model spec: model.encoder_weights: could not download the {spec.encoder_weights} "
            f"weights for {spec.encoder} ({type(exc).__name__}); use encoder_weights: null, or "
            "pre-populate the Hugging Face hub cache (~/.cache/huggingface or $HF_HOME) on a "
            "machine with internet access"
        ) from None
    except (ValueError, TypeError, AssertionError) as exc:
        raise SaltsegError(f"model spec: model: {spec.arch}/{spec.encoder}: {exc}") from None


@torch.no_grad()
def check_output_shape(model: nn.Module, in_channels: int, side: int) -> None:
    """Fail early when an architecture does not map a side x side input to a side x side map
    (e.g. FPN assumes encoder_depth 5)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        out = split_outputs(model(torch.zeros(1, in_channels, side, side, device=device)))
    model.train(was_training)
    if tuple(out.mask.shape[-2:]) != (side, side):
        raise SaltsegError(
            f"model spec: model: {type(model).__name__} maps a {side}x{side} input to "
            f"{out.mask.shape[-2]}x{out.mask.shape[-1]}; change encoder_depth or input.pad"
        )

"""A prediction network compiled with ``torch.compile`` (inductor), for large tile sets.

On 2 CPU cores ``config/cpu.yaml``'s network predicted 1.44x faster compiled
(benchmarks/compile_speed.py); compiling costs one to two minutes the first time and seconds
once inductor's on-disk cache holds the graph, so it pays off for thousands of tiles (the 19,000
Kaggle test tiles), not for a handful. A batch smaller than the largest one seen is padded to
it, so that the graph is compiled once (a smaller last batch would compile a second graph).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from saltseg.nn.outputs import Outputs, split_outputs

logger = logging.getLogger(__name__)


class CompiledNetwork:
    """Callable like the network, returning :class:`Outputs`; compiled on the first call.

    Where compiling fails (no C++ compiler, a backend that cannot run here), it says why once
    and goes on with the plain network, so a setting meant for speed never stops a prediction.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.batch_size = 0  # the largest batch seen: the compiled graph's
        self._compiled = torch.compile(model, dynamic=False)
        self._state = "new"  # new -> compiled | eager

    def __call__(self, x: torch.Tensor) -> Outputs:
        if self._state == "eager":
            return split_outputs(self.model(x))
        n = len(x)
        self.batch_size = max(self.batch_size, n)
        if n < self.batch_size:
            pad = x[-1:].expand(self.batch_size - n, *x.shape[1:])
            memory_format = (
                torch.channels_last
                if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
                else torch.contiguous_format
            )
            x = torch.cat([x, pad]).contiguous(memory_format=memory_format)
        try:
            out = split_outputs(self._compiled(x))
        except Exception as exc:
            if self._state == "compiled":
                raise  # it compiled and ran before: a real error, not the compiler's
            text = str(exc).strip()
            reason = text.splitlines()[0] if text else type(exc).__name__
            logger.warning("torch.compile failed (%s); predicting without it", reason)
            self._state = "eager"
            return split_outputs(self.model(x[:n]))
        self._state = "compiled"
        if n == len(x):
            return out
        return Outputs(
            out.mask[:n],
            None if out.image is None else out.image[:n],
            tuple(d[:n] for d in out.deep),
        )

"""SaltNet, the 1st-place networks on smp encoders: model, decoder, encoder changes, blocks."""

from saltseg.nn.saltnet.model import SaltNet

__all__ = ["SaltNet"]

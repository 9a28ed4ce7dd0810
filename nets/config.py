"""The network's shape as a frozen dataclass, in a module without torch.

It lives apart from ``nets.torch_net`` (which re-exports it) so that the config loader and
the torch-free inference path (``nets.numpy_net``) can use it without importing torch,
which costs about two seconds of start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MAX_BLOCKS = 128
"""More residual blocks than any network this project trains (chess uses 20)."""
MAX_WIDTH = 4096
"""More channels (or hidden units) than any layer this project builds (chess uses 256)."""


@dataclass(frozen=True)
class NetworkConfig:
    blocks: int = 5
    """Number of residual blocks in the tower."""
    channels: int = 64
    """Convolution channels of the stem and of every residual block."""
    policy_channels: int = 2
    """Channels of the policy head's 1x1 convolution, before its linear layer."""
    value_channels: int = 1
    """Channels of the value head's 1x1 convolution, before its hidden layer."""
    value_hidden: int = 64
    """Width of the value head's hidden linear layer."""

    def __post_init__(self) -> None:
        # Checked here, where every network is described (config files, checkpoints): a bad
        # shape fails once with its key named, not in every worker that builds the network.
        for item in fields(self):
            value = getattr(self, item.name)
            low, high = (0, MAX_BLOCKS) if item.name == "blocks" else (1, MAX_WIDTH)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"network.{item.name} must be an integer from {low} to "
                                 f"{high}, not {value!r}")

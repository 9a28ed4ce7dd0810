"""The network's shape as a frozen dataclass, in a module without torch.

It lives apart from ``nets.torch_net`` (which re-exports it) so that the config loader and
the torch-free inference path (``nets.numpy_net``) can use it without importing torch,
which costs about two seconds of start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


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

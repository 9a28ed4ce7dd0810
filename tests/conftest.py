"""Fixtures shared by the test packages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str):
    """``benchmarks/NAME.py`` as a module (the scripts are not a package); registered in
    ``sys.modules`` since a script's dataclasses look their module up."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def benchmark_script():
    """``load_benchmark``, for tests of the scripts in benchmarks/."""
    return load_benchmark


def bn_model(network, game, seed: int):
    """A fresh ``PolicyValueNet`` (eval mode) with non-trivial BatchNorm statistics, so that
    folding BatchNorm into the convolutions is exercised."""
    import torch

    from nets.torch_net import PolicyValueNet

    torch.manual_seed(seed)
    model = PolicyValueNet(network, game.observation_shape, game.num_actions)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="session")
def random_bn_model():
    """``bn_model``, for tests of networks whose BatchNorm must not be the identity."""
    return bn_model

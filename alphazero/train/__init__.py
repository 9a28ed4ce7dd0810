"""Training: the self-play driver and learner, the replay buffer, run directories, pretraining.

``train(config, run_dir=...)`` runs self-play training with Ray (what ``alphazero train``
does) and returns a ``TrainResult``; ``train_in_process(game, config)`` runs the same worker
and learner in turns in this process, for a game registered here (docs/own_game.md);
``pretrain`` trains the chess network from PGN games. The modules behind them import torch
and Ray, so those names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphazero.config import PretrainOptions
from alphazero.train.log import TrainResult
from alphazero.train.replay import ReplayBuffer, Symmetries
from alphazero.train.rundir import new_run_dir
from nets.lazy import lazy_attributes

if TYPE_CHECKING:
    from alphazero.train.driver import train
    from alphazero.train.in_process import InProcessResult, train_in_process
    from alphazero.train.learner import Learner, learning_rate
    from alphazero.train.pretrain import PGNDataError, PretrainReport, pretrain

# Names whose modules import torch (about 2 s) or Ray (about 0.5 s) at their top, loaded on
# first access (PEP 562). `alphazero train` resolves the run through alphazero.train.rundir
# first: a usage error then answers at once, and Ray is not yet imported when the command
# chooses its authentication mode (alphazero.cli.train.choose_ray_auth).
_LAZY = {
    "train": "alphazero.train.driver",
    "InProcessResult": "alphazero.train.in_process",
    "train_in_process": "alphazero.train.in_process",
    "Learner": "alphazero.train.learner",
    "learning_rate": "alphazero.train.learner",
    "PGNDataError": "alphazero.train.pretrain",
    "PretrainReport": "alphazero.train.pretrain",
    "pretrain": "alphazero.train.pretrain",
}
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


__all__ = [
    "InProcessResult",
    "Learner",
    "PGNDataError",
    "PretrainOptions",
    "PretrainReport",
    "ReplayBuffer",
    "Symmetries",
    "TrainResult",
    "learning_rate",
    "new_run_dir",
    "pretrain",
    "train",
    "train_in_process",
]

"""AlphaZero-style training and play with a learnable search (the top layer).

Subpackages: ``train`` (self-play training, pretraining), ``eval`` (agents, matches, the
ladder, Elo, solver-labelled positions), ``learned`` (training the learned search), ``ablate``
(the search-arm studies), ``play`` (terminal play, analysis, the single-game engine), ``uci``
(the chess engine) and ``cli`` (the ``alphazero`` command). ``config`` holds every config
dataclass and YAML loader. See docs/api.md.
"""

import os

# numpy's BLAS (OpenBLAS) starts a thread per core by default. The numpy network of analyse
# multiplies small matrices, and on a shared 2-core machine two spinning BLAS threads made it
# 10-30x slower than one (torch keeps its own thread count). It must be set before numpy is
# first imported, so here, before anything of the project loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

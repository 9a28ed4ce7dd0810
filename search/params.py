"""Search parameters: one frozen dataclass, read from the ``search:`` section of a config."""

from __future__ import annotations

from dataclasses import dataclass

ARMS = ("puct", "gumbel", "learned")
MAX_SIMULATIONS = 1_100_000
"""Most simulations one search may run (the UCI ``Simulations`` option's maximum). The tree is
preallocated, about 32 bytes a node plus the edges of its legal moves, so one search at this
budget holds ~100 MB for Connect Four; a larger request is refused, not left to run out of
memory."""


@dataclass(frozen=True)
class SearchParams:
    """How the batched MCTS selects, explores and reads out a move."""

    arm: str = "puct"
    """Selection rule: puct (AlphaZero), gumbel (Gumbel AlphaZero) or learned."""
    simulations: int = 200
    """Simulations per move (network evaluations plus exact terminal hits)."""
    c_init: float = 1.25
    """PUCT exploration constant c_init of AlphaZero's c(s) = log((1+N+c_base)/c_base) + c_init."""
    c_base: float = 19652.0
    """PUCT c_base of AlphaZero's c(s)."""
    fpu_reduction: float = 0.0
    """Q of an unvisited child: the parent's mean value minus this."""
    dirichlet_alpha: float = 0.3
    """Root Dirichlet noise concentration (self-play, PUCT only)."""
    dirichlet_fraction: float = 0.25
    """Share of the root prior replaced by Dirichlet noise (self-play, PUCT only)."""
    leaves_per_step: int = 1
    """Leaves each tree contributes per network call, kept apart by virtual loss."""
    virtual_loss: float = 1.0
    """Value counted as a loss for each pending visit while its evaluation is in flight."""
    gumbel_considered: int = 16
    """Gumbel AlphaZero: actions sampled at the root (m) for sequential halving."""
    gumbel_c_visit: float = 50.0
    """Gumbel AlphaZero: c_visit of sigma(q) = (c_visit + max N) * c_scale * q."""
    gumbel_c_scale: float = 0.1
    """Gumbel AlphaZero: c_scale of sigma(q) (q rescaled to [0, 1]; mctx's default)."""
    reuse_tree: bool = True
    """Keep the chosen child's subtree for the next move (PUCT and learned arms)."""
    learned_weights: str = ""
    """Learned search weights (``alphazero train-search`` output) for arm ``learned``; empty
    means the file shipped for the game."""

    def __post_init__(self) -> None:
        if self.arm not in ARMS:
            raise ValueError(f"search.arm must be one of {', '.join(ARMS)}, not {self.arm!r}")
        if not 0 <= self.simulations <= MAX_SIMULATIONS:
            raise ValueError(f"search.simulations must be in [0, {MAX_SIMULATIONS}], not "
                             f"{self.simulations}")
        for name, low, strict in (("c_init", 0.0, False), ("c_base", 0.0, True),
                                  ("virtual_loss", 0.0, False), ("gumbel_c_visit", 0.0, False),
                                  ("gumbel_c_scale", 0.0, True)):
            value = getattr(self, name)
            if not (value > low if strict else value >= low):
                raise ValueError(f"search.{name} must be {'>' if strict else '>='} {low:g}, "
                                 f"not {value}")
        if not 1 <= self.leaves_per_step <= 8192:  # pending visits are counted in int16
            raise ValueError("search.leaves_per_step must be in [1, 8192], not "
                             f"{self.leaves_per_step}")
        if self.gumbel_considered < 1:
            raise ValueError("search.gumbel_considered must be >= 1")
        if not 0.0 <= self.dirichlet_fraction <= 1.0:
            raise ValueError("search.dirichlet_fraction must be in [0, 1]")
        if self.dirichlet_alpha <= 0:
            raise ValueError("search.dirichlet_alpha must be > 0")

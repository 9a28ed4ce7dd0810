"""Reading a chess search tree for the UCI engine: proven mates, root move statistics, and
pointing the engine at a new position (restricted to chosen moves for ``go searchmoves``).

The rule for a proven result, from the side to move at a node:

- a node whose side to move is checkmated (a terminal node of value -1) is *lost in 0 plies*;
- a node is *won in d + 1 plies* if one of its children is lost in d plies (the fastest one);
- a node is *lost in d + 1 plies* if every legal move has a child in the tree and every child
  is won, in at most d plies (the slowest one).

Every legal move is an edge of its node and terminal values are exact, so these are forced
mates, not estimates: a mate is claimed only when the tree holds every reply of the defender
along the way, each answered by a mate. Draws are not proven (a repetition depends on the path).

It reads tree 0 of a ``BatchedMCTS`` through its public read-only view ``mcts.view(0)``
(``search.TreeView``), and nothing else. ``principal_line`` gives the
most visited line after a given first move, the move actually played (which may not be the
most visited root move when visits tie or a proven loss is avoided).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

UNKNOWN, WIN, LOSS = 0, 1, -1


@njit(cache=True)
def prove_tree(num_nodes, first_edge, num_edges, edge_child, terminal, raw_value, status, plies):
    """Proven results of the nodes reachable from node 0 (the root), in one post-order pass.

    Per node ``n`` (int arrays of one tree, ``[N]``; edges ``[E]``): ``status[n]`` is WIN, LOSS
    or UNKNOWN for the side to move at ``n`` and ``plies[n]`` the plies to mate. The walk uses an
    explicit stack, so it does not depend on how nodes are numbered.
    """
    if num_nodes == 0:
        return
    stack_node = np.empty(num_nodes, dtype=np.int64)
    stack_edge = np.empty(num_nodes, dtype=np.int64)
    top = 0
    stack_node[0] = 0
    stack_edge[0] = first_edge[0]
    while top >= 0:
        n = stack_node[top]
        end = first_edge[n] + num_edges[n] if not terminal[n] else first_edge[n]
        e = stack_edge[top]
        while e < end and edge_child[e] < 0:
            e += 1
        if e < end:  # descend into the next child first
            stack_edge[top] = e + 1
            child = edge_child[e]
            top += 1
            stack_node[top] = child
            stack_edge[top] = first_edge[child]
            continue
        top -= 1
        status[n] = UNKNOWN
        plies[n] = 0
        if terminal[n]:
            if raw_value[n] <= -0.999:
                status[n] = LOSS
            continue
        if num_edges[n] == 0:  # not expanded yet
            continue
        fastest_win = -1
        slowest_loss = -1
        all_won = True
        for e in range(first_edge[n], first_edge[n] + num_edges[n]):
            child = edge_child[e]
            if child < 0 or status[child] == UNKNOWN:
                all_won = False
            elif status[child] == LOSS:
                if fastest_win < 0 or plies[child] + 1 < fastest_win:
                    fastest_win = plies[child] + 1
            else:
                slowest_loss = max(slowest_loss, plies[child] + 1)
        if fastest_win > 0:
            status[n] = WIN
            plies[n] = fastest_win
        elif all_won:
            status[n] = LOSS
            plies[n] = slowest_loss


@dataclass(frozen=True)
class RootReport:
    """What the tree says about the root, from its side to move's point of view."""

    status: int = UNKNOWN  # WIN, LOSS or UNKNOWN (proven results only)
    plies: int = 0  # plies to mate when proven
    line: list[int] = field(default_factory=list)  # the proven mating line (actions)
    visits: dict[int, int] = field(default_factory=dict)  # per root action
    q: dict[int, float] = field(default_factory=dict)  # mean value per visited root action
    lost: frozenset[int] = frozenset()  # root actions proven to lose (the opponent mates)

    @property
    def mate(self) -> int | None:
        """UCI's ``score mate``: moves (not plies) to mate, negative when being mated."""
        if self.status == WIN:
            return (self.plies + 1) // 2
        if self.status == LOSS:
            return -(self.plies // 2)
        return None

    def choose(self, action: int) -> int:
        """The move to play: the first of the proven line (the fastest win, or the slowest
        loss), else ``action`` (the search's choice) unless it is proven to lose while
        another move is not (then the most visited such move)."""
        if self.status != UNKNOWN and self.line:
            return self.line[0]
        if action in self.lost:
            others = [a for a in self.visits if a not in self.lost]
            if others:
                return max(others, key=lambda a: self.visits[a])
        return action


def read_root(mcts: Any, max_line: int = 64) -> RootReport:
    """The proof and the root's per-move visits and values of tree 0 of ``mcts``."""
    tree = mcts.view(0)
    num_nodes = tree.num_nodes
    if num_nodes == 0:
        return RootReport()
    first_edge, num_edges = tree.first_edge, tree.num_edges
    edge_child, edge_action = tree.edge_child, tree.edge_action
    edge_visits, edge_value = tree.edge_visits, tree.edge_value
    status = np.zeros(num_nodes, dtype=np.int8)
    plies = np.zeros(num_nodes, dtype=np.int32)
    prove_tree(num_nodes, first_edge, num_edges, edge_child, tree.terminal, tree.raw_value,
               status, plies)
    visits: dict[int, int] = {}
    q: dict[int, float] = {}
    lost = set()
    root_edges = range(first_edge[0], first_edge[0] + num_edges[0])
    for e in root_edges:
        action, child, n = int(edge_action[e]), int(edge_child[e]), int(edge_visits[e])
        visits[action] = n
        if n > 0:
            q[action] = float(edge_value[e]) / n
        if child >= 0 and status[child] == WIN:
            lost.add(action)
    line: list[int] = []
    node = 0
    while status[node] != UNKNOWN and not tree.terminal[node] and len(line) < max_line:
        # The winner takes the fastest mate, the loser the slowest; ties go to more visits.
        wanted = LOSS if status[node] == WIN else WIN
        best_edge = -1
        for e in range(first_edge[node], first_edge[node] + num_edges[node]):
            child = edge_child[e]
            if child >= 0 and status[child] == wanted and plies[child] == plies[node] - 1 and (
                    best_edge < 0 or edge_visits[e] > edge_visits[best_edge]):
                best_edge = e
        if best_edge < 0:
            break
        line.append(int(edge_action[best_edge]))
        node = int(edge_child[best_edge])
    return RootReport(status=int(status[0]), plies=int(plies[0]), line=line, visits=visits,
                      q=q, lost=frozenset(lost))


def principal_line(mcts: Any, first_action: int, max_length: int = 24) -> list[int]:
    """``first_action`` then the most visited moves below it, in tree 0 of ``mcts``."""
    return mcts.principal_variation(0, first_action=first_action, max_length=max_length)


MAX_REUSED_PLIES = 8
"""A new position at most this many plies past the tree's root keeps the subtree."""


def set_root(engine: Any, board: Any, allowed: list[int] | None) -> None:
    """Point ``engine`` (a ``play.SearchEngine`` of chess) at ``board`` (a ``chess.Board``): a
    fresh tree searching only ``allowed`` when given (a root move mask: a proven loss at such a
    root means that every searched move loses), else the subtree of the previous search when
    ``board`` only adds moves to its root.

    ``board`` is a position of a game going on (the caller has ruled out the automatic ends:
    checkmate, stalemate, insufficient material, fivefold repetition, 75 moves), so a draw that
    could be claimed there (threefold repetition, 50 moves) is searched as if unclaimed (its move
    history dropped, its halfmove clock held below 100), and never as the terminal node that
    self-play's rule makes of it."""
    import chess

    from games.chess import GAME, encode_move

    old = engine.state
    if not allowed and old is not None and board.root() == old.root():
        added = len(board.move_stack) - len(old.move_stack)
        if 0 <= added <= MAX_REUSED_PLIES and (added > 0 or not engine.restricted) \
                and board.move_stack[:len(old.move_stack)] == old.move_stack:
            try:
                for move in board.move_stack[len(old.move_stack):]:
                    engine.play(encode_move(move, engine.state.turn))
            except ValueError:
                pass
            else:
                if not GAME.is_terminal(engine.state):
                    return
                # An unclaimed draw that the tree holds as a terminal node: searched afresh.
    root = board.copy()
    if GAME.is_terminal(root):  # a draw that could be claimed: search as if unclaimed
        root = chess.Board(board.fen())
        root.halfmove_clock = min(root.halfmove_clock, 99)
    mask = None
    if allowed:
        mask = np.zeros(GAME.num_actions, dtype=bool)
        mask[allowed] = True
    engine.set_position(root, allowed=mask)

"""Supervised pretraining of the chess network from PGN games.

The policy learns the move played (cross-entropy over the legal moves), the value learns the
game's result from the side to move's view (+1 win, 0 draw, -1 loss). Games stream from the
files through a shuffle buffer, so files of any size fit in memory; each pass over the files
re-opens them, so games appended meanwhile (a generator still running) are picked up.

When a position carries a ``[%eval]`` annotation (lichess's PGN convention, which
benchmarks/make_stockfish_pgn.py also writes), its value target blends the result with the
eval's expected score: ``(1 - eval_weight) * result + eval_weight * (W - L)``, W and L being
the win and loss probabilities of Stockfish 15.1's WDL model for that eval. A denser, less
noisy signal than results alone, which matters when there are few games.

A game's first ``RandomPlies`` plies (a header written by benchmarks/make_stockfish_pgn.py for
its random opening moves), and the plies listed in its ``RandomMoves`` header (random moves
later in the game, space-separated 0-based plies), are value targets only, never policy
targets.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.engine
import chess.pgn
import numpy as np
import torch
import torch.nn.functional as F

from alphazero.config import PretrainOptions
from alphazero.train.learner import cosine_learning_rate
from games.chess import GAME, NUM_ACTIONS, OBSERVATION_SHAPE, encode_board, encode_move
from nets.checkpoint import save_checkpoint
from nets.loader import resolve_model
from nets.torch_net import NetworkConfig, PolicyValueNet

_RESULTS = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}


class PGNDataError(ValueError):
    """PGN input that yields no training positions (missing, unreadable or empty files)."""


@dataclass(frozen=True)
class Position:
    """One training example, from the side to move's point of view."""

    observation: np.ndarray  # float32[21, 8, 8]
    legal: np.ndarray  # int16[L], legal action indices
    action: int  # the move played, or -1 when it is no policy target (a random opening ply)
    value: float  # value target for the side to move in [-1, 1] (the result, or blended)


@dataclass
class PretrainReport:
    steps: int
    positions_seen: int
    games_read: int  # distinct training games read, held-out games excluded
    game_reads: int  # games read in all: games_read times the passes over the files
    first_loss: float  # mean total loss over the first 50 steps
    last_loss: float  # mean total loss over the last 50 steps
    policy_loss: float  # last 50 steps
    value_loss: float  # last 50 steps
    seconds: float


def iter_pgn_games(paths: Sequence[str | os.PathLike]) -> Iterator[chess.pgn.Game]:
    """Games with a decisive or drawn result and no parse errors, file after file."""
    for path in paths:
        try:
            handle = open(path, encoding="utf-8", errors="replace")
        except OSError as err:
            raise PGNDataError(f"cannot read {path}: {err.strerror}") from None
        with handle:
            while True:
                try:
                    game = chess.pgn.read_game(handle)
                except (ValueError, UnicodeDecodeError):
                    continue
                if game is None:
                    break
                if game.errors or game.headers.get("Result") not in _RESULTS:
                    continue
                if game.headers.get("Variant", "Standard").lower() not in ("standard", "chess"):
                    continue
                yield game


def eval_value(score: chess.engine.PovScore, ply: int) -> float:
    """Expected outcome in [-1, 1] for White of an engine score (Stockfish 15.1's WDL model)."""
    wdl = score.white().wdl(model="sf15.1", ply=ply)
    return (wdl.wins - wdl.losses) / max(wdl.total(), 1)


def game_positions(game: chess.pgn.Game, eval_weight: float = 0.75) -> Iterator[Position]:
    """The positions of one game with their targets (see the module docstring)."""
    result = _RESULTS[game.headers["Result"]]
    try:
        random_plies = int(game.headers.get("RandomPlies", "0"))
    except ValueError:
        random_plies = 0
    try:
        random_moves = {int(x) for x in game.headers.get("RandomMoves", "").split()}
        trusted = True
    except ValueError:  # a malformed list: trust no move of the game as a policy target
        random_moves, trusted = set(), False
    board = game.board()
    node: chess.pgn.GameNode = game  # its position is ``board``; its comment holds the eval
    for ply, child in enumerate(game.mainline()):
        move = child.move
        if GAME.is_terminal(board):
            break
        legal = GAME.legal_actions(board).astype(np.int16)
        is_target = trusted and ply >= random_plies and ply not in random_moves
        action = encode_move(move, board.turn) if is_target else -1
        white_value = result
        score = node.eval() if ply > 0 else None
        if score is not None:
            white_value = (1 - eval_weight) * result + eval_weight * eval_value(score, ply)
        value = white_value if board.turn == chess.WHITE else -white_value
        yield Position(encode_board(board), legal, action, value)
        board.push(move)
        node = child


def iter_positions(paths: Sequence[str | os.PathLike], *, passes: int | None = None,
                   stats: dict | None = None, eval_weight: float = 0.75,
                   holdout_every: int = 0) -> Iterator[Position]:
    """Positions of every game in ``paths``, over and over (``passes`` times, None: forever),
    skipping the held-out games (every ``holdout_every``-th, see ``held_out_positions``)."""
    done = 0
    while passes is None or done < passes:
        found = pass_games = 0
        for index, game in enumerate(iter_pgn_games(paths)):
            if _held_out(index, holdout_every):
                continue
            pass_games += 1
            if stats is not None:  # distinct games (a file may grow), and reads over passes
                stats["games"] = max(stats.get("games", 0), pass_games)
                stats["reads"] = stats.get("reads", 0) + 1
            for position in game_positions(game, eval_weight):
                found += 1
                yield position
        if found == 0:
            held = f" once every {holdout_every}th game is held out" if holdout_every else ""
            raise PGNDataError(f"no usable games in {', '.join(map(str, paths))}{held}")
        done += 1


def _held_out(index: int, every: int) -> bool:
    return every > 0 and index % every == every - 1


def held_out_positions(paths: Sequence[str | os.PathLike], every: int, limit: int,
                       eval_weight: float = 0.75) -> list[Position]:
    """Up to ``limit`` positions of the held-out games (game indices every-1, 2*every-1, ...
    in file order, so appending games to a file never moves a game between the sets)."""
    out: list[Position] = []
    if every <= 0:
        return out
    for index, game in enumerate(iter_pgn_games(paths)):
        if _held_out(index, every):
            out.extend(game_positions(game, eval_weight))
            if len(out) >= limit:
                return out[:limit]
    return out


def shuffled_batches(positions: Iterable[Position], batch_size: int, buffer_size: int,
                     rng: random.Random, *, reuse: float = 1.0) -> Iterator[list[Position]]:
    """Batches drawn at random from a buffer refilled from the stream.

    A batch is drawn for every ``batch_size / reuse`` new positions, so each position is
    sampled ``reuse`` times on average per pass.
    """
    buffer: list[Position] = []
    credit = 0.0
    warmup = min(buffer_size, 4 * batch_size)
    for position in positions:
        if len(buffer) < buffer_size:
            buffer.append(position)
        else:
            buffer[rng.randrange(buffer_size)] = position
        credit += reuse / batch_size
        while credit >= 1.0 and len(buffer) >= warmup:
            credit -= 1.0
            yield [buffer[rng.randrange(len(buffer))] for _ in range(batch_size)]


def collate(batch: Sequence[Position]) -> tuple[torch.Tensor, ...]:
    """(observations [B, 21, 8, 8], legal masks [B, 4672], actions [B], values [B])."""
    obs = torch.from_numpy(np.stack([p.observation for p in batch]))  # [B, 21, 8, 8]
    mask = torch.zeros((len(batch), NUM_ACTIONS), dtype=torch.bool)
    rows = np.repeat(np.arange(len(batch)), [p.legal.size for p in batch])
    cols = np.concatenate([p.legal for p in batch]).astype(np.int64)
    mask[torch.from_numpy(rows), torch.from_numpy(cols)] = True
    actions = torch.tensor([p.action for p in batch], dtype=torch.int64)
    values = torch.tensor([p.value for p in batch], dtype=torch.float32)
    return obs, mask, actions, values


def losses(model: PolicyValueNet, obs: torch.Tensor, mask: torch.Tensor, actions: torch.Tensor,
           values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy cross-entropy over legal moves on rows with a target, value MSE)."""
    logits, predicted = model(obs)  # [B, A], [B]
    logits = logits.masked_fill(~mask, -1e9)
    has_target = actions >= 0
    if has_target.any():
        policy = F.cross_entropy(logits[has_target], actions[has_target])
    else:
        policy = logits.sum() * 0.0
    return policy, F.mse_loss(predicted, values)


def evaluate_loss(model: PolicyValueNet, positions: Sequence[Position],
                  batch_size: int = 256) -> tuple[float, float]:
    """Mean (policy loss, value loss) of ``model`` over ``positions`` (eval mode, no grad)."""
    scores = validate(model, positions, batch_size)
    return scores["policy"], scores["value"]


def validate(model: PolicyValueNet, positions: Sequence[Position],
             batch_size: int = 256) -> dict[str, float]:
    """Mean policy loss, value loss and policy top-1 (the move played is the network's
    favourite) of ``model`` over ``positions``, in eval mode without gradients."""
    model.eval()
    policy_sum = value_sum = 0.0
    targets = hits = 0
    with torch.no_grad():
        for i in range(0, len(positions), batch_size):
            obs, mask, actions, values = collate(positions[i:i + batch_size])
            logits, predicted = model(obs)
            logits = logits.masked_fill(~mask, -1e9)
            rows = actions >= 0
            if rows.any():
                policy_sum += float(F.cross_entropy(logits[rows], actions[rows], reduction="sum"))
                hits += int((logits[rows].argmax(dim=1) == actions[rows]).sum())
                targets += int(rows.sum())
            value_sum += float(F.mse_loss(predicted, values, reduction="sum"))
    return {"policy": policy_sum / max(targets, 1),
            "value": value_sum / max(len(positions), 1),
            "top1": hits / max(targets, 1)}


def pretrain(pgn_paths: Sequence[str | os.PathLike], network: NetworkConfig,
             out: str | os.PathLike, options: PretrainOptions = PretrainOptions(), *,
             init: str | os.PathLike | None = None, progress: bool = True,
             log_every: int = 100, log=None) -> PretrainReport:
    """Train a chess network on ``pgn_paths`` and checkpoint it to ``out``.

    ``init``: start from this checkpoint's weights (its network config wins over ``network``).
    ``log``: called with a one-line summary every ``log_every`` steps (e.g. ``print``).
    Raises PGNDataError when the files give no positions.
    """
    paths = [Path(p) for p in pgn_paths]
    if not paths:
        raise PGNDataError("no PGN files given")
    for path in paths:
        if not path.is_file():
            raise PGNDataError(f"PGN file not found: {path}")
    if options.steps < 1:
        raise ValueError(f"steps must be >= 1, not {options.steps}")
    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)
    model, _ = resolve_model(GAME, network, init, fresh=init is None, seed=options.seed)
    network = model.config  # a checkpoint's network wins over the config's
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr,
                                  weight_decay=options.weight_decay)

    budget = None if options.max_minutes is None else 60.0 * options.max_minutes

    def progress_at(step: int) -> float:
        """Share of the run done: by steps, or by time when that runs out first."""
        done = step / options.steps
        if budget is not None:
            done = max(done, (time.time() - start) / budget)
        return min(done, 1.0)

    def lr_at(done: float) -> float:
        return cosine_learning_rate(options.lr, done)

    validation = held_out_positions(paths, options.holdout_every, options.validation_positions,
                                    options.eval_weight)
    best_path = Path(out).with_suffix(".best.pt")
    best_loss = math.inf
    stats: dict = {}
    start = time.time()
    positions = iter_positions(paths, stats=stats, eval_weight=options.eval_weight,
                               holdout_every=options.holdout_every)
    batches = shuffled_batches(positions, options.batch_size, options.shuffle_buffer, rng,
                               reuse=options.sample_reuse)
    history: list[tuple[float, float]] = []
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=options.steps, desc="pretrain", unit="step", dynamic_ncols=True)
    step = 0
    try:
        for step in range(1, options.steps + 1):
            batch = next(batches)
            done = progress_at(step - 1)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(done)
            model.train()
            policy, value = losses(model, *collate(batch))
            loss = policy + options.value_loss_weight * value
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append((policy.item(), value.item()))
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    p, v = np.mean(history[-50:], axis=0)
                    bar.set_postfix(policy=f"{p:.3f}", value=f"{v:.3f}",
                                    games=stats.get("games", 0))
            if log is not None and step % log_every == 0:
                p, v = np.mean(history[-log_every:], axis=0)
                log(f"step {step} policy {p:.4f} value {v:.4f} games {stats.get('games', 0)} "
                    f"lr {lr_at(done):.2e} {time.time() - start:.0f}s")
            finished = step == options.steps or progress_at(step) >= 1.0
            if step % options.checkpoint_every == 0 or finished:
                scores = validate(model, validation) if validation else None
                _save(out, model, network, step, stats, options, paths, scores)
                if scores is not None:
                    total = scores["policy"] + options.value_loss_weight * scores["value"]
                    if log is not None:
                        log(f"step {step} held-out ({len(validation)} positions): policy "
                            f"{scores['policy']:.4f} value {scores['value']:.4f} top-1 "
                            f"{scores['top1']:.3f}" + (" (best)" if total < best_loss else ""))
                    if total < best_loss:
                        best_loss = total
                        _save(best_path, model, network, step, stats, options, paths, scores)
            if finished:
                break
    finally:
        if bar is not None:
            bar.close()
    first = np.mean(history[:50], axis=0)
    last = np.mean(history[-50:], axis=0)
    w = options.value_loss_weight
    return PretrainReport(steps=step, positions_seen=step * options.batch_size,
                          games_read=stats.get("games", 0), game_reads=stats.get("reads", 0),
                          first_loss=float(first[0] + w * first[1]),
                          last_loss=float(last[0] + w * last[1]), policy_loss=float(last[0]),
                          value_loss=float(last[1]), seconds=time.time() - start)


def _save(out, model, network, step, stats, options, paths, validation=None) -> None:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_checkpoint(out, model_state=state, network_config=network, game="chess",
                    observation_shape=OBSERVATION_SHAPE, num_actions=NUM_ACTIONS,
                    extra={"step": step, "source": "pretrain",
                           "pretrain": {"games_read": stats.get("games", 0),
                                        "pgn": [str(p) for p in paths],
                                        "options": dataclasses.asdict(options),
                                        "validation": validation}})

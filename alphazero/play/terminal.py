"""Playing against the engine in a terminal (``alphazero play``).

``play_session`` is the interactive loop behind ``alphazero play``: it reads moves and commands
line by line, answers bad input with one line and a new prompt, and ends cleanly at end of input.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any, Iterator, TextIO

from alphazero.play.engine import Analysis, SearchEngine
from games import get_game
from games.base import Game, GameError, capabilities


# ------------------------------------------------------------------------------- notation
def player_name(game: Game, player: int) -> str:
    """The game's name for ``player`` (0 moves first): "White"/"Black" in chess, else "X"/"O"
    unless the game declares ``player_names``."""
    return capabilities(game).player_names[player]


def format_move(game: Game, state: Any, action: int) -> str:
    """A move in the notation people read: SAN when the game has it (chess), else its own."""
    if capabilities(game).san:
        return game.format_move_san(state, action)
    return game.format_move(state, action)


def format_line(game: Game, state: Any, actions: list[int]) -> str:
    """A sequence of moves from ``state``, numbered when the game numbers its moves (chess:
    "12. Nf3 Nc6")."""
    numbered = capabilities(game).move_numbers
    words = []
    for i, action in enumerate(actions):
        if numbered:
            number = game.move_number(state)
            if game.to_play(state) == 0:
                words.append(f"{number}.")
            elif i == 0:
                words.append(f"{number}...")
        words.append(format_move(game, state, action))
        state = game.apply(state, action)
    return " ".join(words)


def describe_value(game: Game, state: Any, value: float, *, mate: int | None = None) -> str:
    """A value for the side to move as a win probability for that side, or a proven win:
    ``mate`` moves of the winner to a forced win, negative when the side to move loses."""
    player = game.to_play(state)
    if mate:
        winner = player_name(game, player if mate > 0 else 1 - player)
        return f"{winner} wins by force in {abs(mate)} move{'s' if abs(mate) > 1 else ''}"
    return f"{player_name(game, player)} {100 * (value + 1) / 2:.0f}% to win (value {value:+.2f})"


def result_text(game: Game, state: Any) -> tuple[str, str]:
    """(PGN-style result "1-0" / "0-1" / "1/2-1/2", a sentence) of a finished game."""
    reason = game.outcome_reason(state) if capabilities(game).outcome_reason else None
    value = game.terminal_value(state)
    if value == 0:
        return "1/2-1/2", f"Draw{f' by {reason}' if reason else ''}."
    winner = 1 - game.to_play(state) if value < 0 else game.to_play(state)
    result = "1-0" if winner == 0 else "0-1"
    return result, f"{player_name(game, winner)} wins{f' by {reason}' if reason else ''}."


# -------------------------------------------------------------------------------- session
HELP = """Commands:
  <move>   play a move ({notation})
  undo     take back your last move (and the engine's reply)
  hint     ask the engine for a move for you
  eval     the engine's evaluation of the position
  flip     turn the board around
  help     this text
  quit     leave the game (end of input does the same)"""


def play_session(game: Game, engine: SearchEngine, *, human: int, simulations: int,
                 lines: Iterator[str], out: TextIO, pgn_path: str | Path | None = None,
                 engine_name: str = "alphazero") -> str:
    """Play one game on ``out``, the human's moves read from ``lines``; returns the result
    ("1-0", "0-1", "1/2-1/2", or "*" when the game was left unfinished).

    ``human`` is the human's player index (0 moves first). Games that write PGN (chess) are
    written to ``pgn_path`` (if given) when the session ends.
    """
    session = _Session(game, engine, human, simulations, out)
    result = session.run(lines)
    if capabilities(game).pgn and pgn_path is not None:
        path = save_pgn(session.state, pgn_path, result=result, human=human,
                        engine_name=engine_name, game=game)
        session.say(f"Game saved to {path}")
    return result


class _Session:
    """The state of one game in ``play_session``: the position and the moves played."""

    def __init__(self, game: Game, engine: SearchEngine, human: int, simulations: int,
                 out: TextIO):
        self.game, self.engine, self.human = game, engine, human
        self.simulations = simulations
        self.out = out
        self.state = game.initial_state()
        # The board from the human's side where the game can draw it both ways (chess).
        self.flipped = human == 1 and capabilities(game).flipped_render
        self.history: list[tuple[Any, int]] = []  # (state before, action) of every move
        self._last: tuple[tuple, Analysis, int | None] | None = None  # the last search

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self, lines: Iterator[str]) -> str:
        game = self.game
        self.engine.set_position(self.state)
        self.say(f"You play {player_name(game, self.human)}; the engine plays "
                 f"{player_name(game, 1 - self.human)}. Type 'help' for commands.")
        show_board = True
        while True:
            if show_board:
                self.say()
                self.say(self._board())
            if game.is_terminal(self.state):
                result, sentence = result_text(game, self.state)
                shown = f" ({result})" if capabilities(game).pgn else ""  # PGN's result
                self.say(f"Game over: {sentence}{shown}")
                return result
            if game.to_play(self.state) != self.human:
                self._engine_move()
                show_board = True
                continue
            self.out.write(f"{player_name(game, self.human)} to move> ")
            self.out.flush()
            try:
                text = next(lines).strip()
            except StopIteration:
                self.say()
                self.say(f"End of input: the game is left unfinished{self._star}.")
                return "*"
            if text.lower() in ("quit", "exit", "resign"):
                self.say(f"You left the game{self._star}.")
                return "*"
            show_board = self._human_input(text)

    def _board(self) -> str:
        return (self.game.render_flipped(self.state) if self.flipped
                else self.game.render(self.state))

    @property
    def _star(self) -> str:
        """PGN's mark of an unfinished game, shown where the game writes PGN (chess)."""
        return " (*)" if capabilities(self.game).pgn else ""

    def _search(self) -> tuple[Analysis, int | None]:
        """Search, then (the answer, the proven mate: the winner's moves to a forced win,
        negative when the side to move loses; None unproven). A win or loss the tree proves
        (alphazero/uci/tree.py) decides the move and the line. One search per position:
        ``hint`` and then ``eval`` give the same answer."""
        from alphazero.uci.tree import principal_line, read_root

        key = tuple(action for _, action in self.history)  # the position, by its moves
        if self._last is not None and self._last[0] == key:
            return self._last[1], self._last[2]
        analysis = self.engine.search(self.simulations)
        report = read_root(self.engine.mcts)
        if analysis.action >= 0:
            action = report.choose(analysis.action)
            pv = report.line or principal_line(self.engine.mcts, action)
            analysis = dataclasses.replace(analysis, action=action, pv=pv)
        self._last = (key, analysis, report.mate)
        return analysis, report.mate

    def _engine_move(self) -> None:
        game, state = self.game, self.state
        analysis, mate = self._search()
        self.say(f"Engine plays {format_move(game, state, analysis.action)}")
        self.history.append((state, analysis.action))
        self.state = self.engine.play(analysis.action)
        if not game.is_terminal(self.state):
            # The evaluation after the move, from the opponent's side: a mate counts the
            # winner's moves still to come, not the one just played.
            after = None if not mate else (-(mate - 1) if mate > 0 else -mate)
            value = describe_value(game, self.state, -analysis.value, mate=after)
            self.say(f"  eval: {value}; {analysis.simulations} simulations")
            self.say(f"  pv: {format_line(game, state, analysis.pv)}")

    def _human_input(self, text: str) -> bool:
        """Handle a move or command; True when the position changed (draw the board)."""
        game, command = self.game, text.lower()
        if not text:
            return False
        if command in ("help", "?"):
            self.say(HELP.format(notation=capabilities(game).move_notation))
            return False
        if command == "flip":
            if not capabilities(game).flipped_render:
                self.say(f"{game.name} draws its board one way only.")
                return False
            self.flipped = not self.flipped
            return True
        if command == "undo":
            taken_back = _undo(game, self.history, self.human)
            if taken_back is None:
                self.say("Nothing to undo.")
                return False
            self.state, taken = taken_back
            self.say(f"Took back {taken} move{'s' if taken > 1 else ''}.")
            self.engine.set_position(self.state)
            return True
        if command in ("hint", "eval"):
            analysis, mate = self._search()
            value = describe_value(game, self.state, analysis.value, mate=mate)
            if command == "hint":
                self.say(f"Hint: {format_move(game, self.state, analysis.action)}; eval {value}")
            else:
                self.say(f"Eval: {value}; network alone {analysis.network_value:+.2f}; pv "
                         f"{format_line(game, self.state, analysis.pv)}")
            return False
        try:
            action = game.parse_move(self.state, text)
            move_text = format_move(game, self.state, action)
        except GameError as err:
            self.say(f"Not a move: {err}. Type 'help' for commands.")
            return False
        self.say(f"You play {move_text}")
        self.history.append((self.state, action))
        self.state = self.engine.play(action)
        return True


def _undo(game: Game, history: list[tuple[Any, int]], human: int) -> tuple[Any, int] | None:
    """Take back the human's last move and the engine's replies after it: (position, plies
    taken back), or None when the human has made no move yet."""
    for i in range(len(history) - 1, -1, -1):
        if game.to_play(history[i][0]) == human:
            state, taken = history[i][0], len(history) - i
            del history[i:]
            return state, taken
    return None


def save_pgn(state: Any, path: str | Path, *, result: str, human: int,
             engine_name: str = "alphazero", game: Game | None = None) -> Path:
    """Write the game that led to ``state`` as PGN through ``game.format_pgn``; returns the
    path. ``game``: one with ``format_pgn``; by default chess, whose states are
    ``chess.Board`` objects carrying their moves."""
    if game is None:
        game = get_game("chess")
    names = ["You", engine_name] if human == 0 else [engine_name, "You"]
    tags = {"Event": "alphazero play", "Date": datetime.date.today().strftime("%Y.%m.%d"),
            "White": names[0], "Black": names[1], "Result": result}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(game.format_pgn(state, tags), encoding="utf-8")
    return path

"""Chess behind the game protocol, wrapping ``chess.Board`` (python-chess).

States are ``chess.Board`` objects with their move stack (repetitions need it);
``apply`` returns a new board and never modifies its argument.

Actions (AlphaZero's encoding, 8 x 8 x 73 = 4,672 slots), always from the side to
move's view: for Black the board is flipped vertically (``square ^ 56``), so
"forward" is towards rank 8 for both sides. With squares numbered as in
python-chess (a1 = 0, b1 = 1, ..., h8 = 63)::

    action = from_square_flipped * 73 + move_type

    move_type  0..55  queen-like moves: direction * 7 + (distance - 1), directions
                      N, NE, E, SE, S, SW, W, NW (N = towards the opponent),
                      distance 1..7; queen promotions use these slots
    move_type 56..63  knight moves (file, rank) offsets (+1,+2) (+2,+1) (+2,-1)
                      (+1,-2) (-1,-2) (-2,-1) (-2,+1) (-1,+2)
    move_type 64..72  underpromotions: 64 + piece * 3 + (file offset + 1), piece
                      0 knight, 1 bishop, 2 rook; file offset -1 (capture towards
                      the a-file), 0 (straight), +1 (capture towards the h-file)

Only ranks are flipped for Black, never files. Decoding a one-step pawn move onto the
last rank through a queen-move slot gives a queen promotion.

Observation ``float32[NUM_PLANES = 21, 8, 8]``, ``obs[plane, rank, file]`` from
the side to move's view (rank 0 = its own back rank):

    0-5    own pawns, knights, bishops, rooks, queens, king
    6-11   opponent's pawns ... king
    12, 13 ones if the position occurred before at least once / twice (found in
           the move stack: a board set up from a FEN knows no earlier positions)
    14     ones if White is to move
    15-18  ones for castling rights: own kingside, own queenside, opponent's
           kingside, opponent's queenside
    19     halfmove clock / 100
    20     ones

Games end by checkmate (-1 for the side to move), stalemate, insufficient
material, threefold repetition or the fifty-move rule. Claimable draws count as
draws; a repetition or fifty-move draw that could be claimed *by announcing* the
next move happens once that move is played, so fivefold repetition and the
75-move rule are covered too.

That is the rule of self-play, search and ``play``, not of a game between others:
there a draw nobody claimed is no end, and the game goes on until checkmate, stalemate,
insufficient material, fivefold repetition or the 75-move rule end it by themselves
(FIDE; ``automatic_outcome_reason``). A move list (``parse_position``, so UCI's
``position ... moves``) is read by that rule, so the moves of any legal game are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import chess
import numpy as np

from games import chess_nodes
from games.base import IllegalMoveError, InvalidPositionError

NUM_ACTIONS = 4672
NUM_MOVE_TYPES = 73
NUM_PLANES = 21
OBSERVATION_SHAPE = (NUM_PLANES, 8, 8)

_QUEEN_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
_KNIGHT_OFFSETS = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
_UNDERPROMOTIONS = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
_NUM_PROMOTION_CODES = 7  # key slot for Move.promotion: 0 (none) or a piece type 1..6


def _move_type_offsets() -> list[tuple[int, int, int]]:
    """(file offset, rank offset, promotion piece or 0) of each of the 73 move types."""
    offsets = [(df * d, dr * d, 0) for df, dr in _QUEEN_DIRECTIONS for d in range(1, 8)]
    offsets += [(df, dr, 0) for df, dr in _KNIGHT_OFFSETS]
    offsets += [(df, 1, piece) for piece in _UNDERPROMOTIONS for df in (-1, 0, 1)]
    return offsets


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode tables int16[4672] (target square flipped, -1 off the board; promotion
    piece or 0) and the encode table int32[2, 64 * 64 * 7] indexed by
    [turn, from * 448 + to * 7 + promotion] on real squares (-1: no such action)."""
    decode_to = np.full(NUM_ACTIONS, -1, dtype=np.int16)
    decode_promotion = np.zeros(NUM_ACTIONS, dtype=np.int16)
    encode = np.full((2, 64 * 64 * _NUM_PROMOTION_CODES), -1, dtype=np.int32)
    for move_type, (df, dr, promotion) in enumerate(_move_type_offsets()):
        for from_sq in range(64):
            file, rank = from_sq % 8 + df, from_sq // 8 + dr
            if not (0 <= file < 8 and 0 <= rank < 8):
                continue
            if promotion and from_sq // 8 != 6:
                continue  # underpromotions only start on the seventh rank
            action = from_sq * NUM_MOVE_TYPES + move_type
            to_sq = rank * 8 + file
            decode_to[action] = to_sq
            decode_promotion[action] = promotion
            # A one-step pawn move onto the last rank through a queen slot is a queen promotion.
            queen_promotion = move_type < 56 and from_sq // 8 == 6 and rank == 7 and dr == 1
            for turn, flip in ((chess.WHITE, 0), (chess.BLACK, 56)):
                key = ((from_sq ^ flip) * 64 + (to_sq ^ flip)) * _NUM_PROMOTION_CODES
                encode[int(turn), key + promotion] = action
                if queen_promotion:
                    encode[int(turn), key + chess.QUEEN] = action
    return decode_to, decode_promotion, encode


_DECODE_TO, _DECODE_PROMOTION, _ENCODE = _build_tables()
# Python lists: indexing them with one int is several times faster than numpy scalars.
_DECODE_TO_LIST: list[int] = _DECODE_TO.tolist()
_DECODE_PROMOTION_LIST: list[int] = _DECODE_PROMOTION.tolist()
_ENCODE_LISTS: tuple[list[int], list[int]] = (_ENCODE[0].tolist(), _ENCODE[1].tolist())


def _move_keys(board: chess.Board) -> list[int]:
    """Encode-table keys of the legal moves of ``board`` (empty when it has none)."""
    return [
        (m.from_square * 64 + m.to_square) * _NUM_PROMOTION_CODES + (m.promotion or 0)
        for m in board.generate_legal_moves()
    ]


def encode_move(move: chess.Move, turn: chess.Color) -> int:
    """Action index of ``move`` played by ``turn``; raises ValueError for moves with
    no slot (null moves, drops, non-chess geometry)."""
    key = (move.from_square * 64 + move.to_square) * _NUM_PROMOTION_CODES + (move.promotion or 0)
    action = _ENCODE_LISTS[int(turn)][key] if move.drop is None else -1
    if action < 0:
        raise ValueError(f"move {move.uci()} has no action in the AlphaZero encoding")
    return action


def decode_action(board: chess.Board, action: int) -> chess.Move:
    """The move of action index ``action`` for the side to move of ``board``.

    Does not check legality; a pawn reaching the last rank through a queen-move slot
    becomes a queen promotion. Raises ValueError for indices out of range or off the board.
    """
    action = int(action)
    if not 0 <= action < NUM_ACTIONS or _DECODE_TO_LIST[action] < 0:
        raise ValueError(f"action {action} is not a move on the board (0..{NUM_ACTIONS - 1})")
    flip = 0 if board.turn == chess.WHITE else 56
    to_flipped = _DECODE_TO_LIST[action]
    from_square = (action // NUM_MOVE_TYPES) ^ flip
    promotion = _DECODE_PROMOTION_LIST[action] or None
    if promotion is None and to_flipped >= 56 and board.pawns >> from_square & 1:
        promotion = chess.QUEEN
    return chess.Move(from_square, to_flipped ^ flip, promotion)


def _copy_board(board: chess.Board) -> chess.Board:
    """A copy with the move stack, without ``Board.copy``'s per-move ``copy.copy``
    (300 us at move 60): moves are immutable values, so the lists can share them."""
    new = board.copy(stack=False)
    new.move_stack = board.move_stack.copy()
    new._stack = board._stack.copy()
    return new


def _draw_reason(board: chess.Board) -> str | None:
    """Draws other than stalemate, assuming the side to move has a legal move."""
    if board.is_insufficient_material():
        return "insufficient material"
    if board.halfmove_clock >= 100:
        return "fifty-move rule"
    # Three occurrences need 8 reversible plies; the gate skips python-chess's stack scan.
    if board.halfmove_clock >= 8 and board.is_repetition(3):
        return "threefold repetition"
    return None


def outcome_reason(board: chess.Board) -> str | None:
    """Why the game is over ("checkmate", "stalemate", "insufficient material",
    "threefold repetition", "fifty-move rule"), or None while it goes on."""
    if not any(board.generate_legal_moves()):
        return "checkmate" if board.is_check() else "stalemate"
    return _draw_reason(board)


_AUTOMATIC_REASONS = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient material",
    chess.Termination.FIVEFOLD_REPETITION: "fivefold repetition",
    chess.Termination.SEVENTYFIVE_MOVES: "seventy-five-move rule",
}


def automatic_outcome_reason(board: chess.Board) -> str | None:
    """Why the game is over by a rule that ends it without a claim ("checkmate",
    "stalemate", "insufficient material", "fivefold repetition", "seventy-five-move
    rule"), or None: a threefold repetition or fifty-move draw nobody claimed goes on."""
    outcome = board.outcome(claim_draw=False)
    return None if outcome is None else _AUTOMATIC_REASONS[outcome.termination]


def _repetitions(board: chess.Board) -> int:
    """How many times (0, 1, 2+) the current position occurred before."""
    if board.halfmove_clock < 4 or not board.is_repetition(2):
        return 0
    return 2 if board.halfmove_clock >= 8 and board.is_repetition(3) else 1


def encode_board(board: chess.Board, repetitions: int | None = None,
                 out: np.ndarray | None = None) -> np.ndarray:
    """float32[NUM_PLANES, 8, 8] observation of ``board`` (layout in the module docstring).

    ``repetitions``: how many times (0, 1, 2) the position occurred before, if known (else
    read from the move stack); ``out``: a zeroed array to write into (returned)."""
    turn = board.turn
    own, opp = board.occupied_co[turn], board.occupied_co[not turn]
    kinds = (board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings)
    bitboards = np.array([b & own for b in kinds] + [b & opp for b in kinds], dtype="<u8")
    if turn == chess.BLACK:
        bitboards = bitboards.byteswap()  # byte k holds rank k: reversing bytes flips ranks
    bits = np.unpackbits(bitboards.view(np.uint8), bitorder="little")  # uint8[12 * 64]
    obs = np.zeros(OBSERVATION_SHAPE, dtype=np.float32) if out is None else out
    obs[:12] = bits.reshape(12, 8, 8)  # [piece plane, rank, file]
    if repetitions is None:
        repetitions = _repetitions(board)
    obs[12] = repetitions >= 1
    obs[13] = repetitions >= 2
    obs[14] = turn == chess.WHITE
    obs[15] = board.has_kingside_castling_rights(turn)
    obs[16] = board.has_queenside_castling_rights(turn)
    obs[17] = board.has_kingside_castling_rights(not turn)
    obs[18] = board.has_queenside_castling_rights(not turn)
    obs[19] = board.halfmove_clock / 100.0
    obs[20] = 1.0
    return obs


def describe_into(board: chess.Board, occurrences: int, out_obs: np.ndarray,
                  out_legal: np.ndarray) -> tuple[bool, float]:
    """``ChessGame.describe`` of ``board`` given ``occurrences``, how many times (0, 1, 2+)
    its position occurred before, as ``Board.is_repetition`` counts them (``board`` itself
    need not carry its move stack). Writes the observation into ``out_obs`` and the legal
    mask into ``out_legal`` (zeroed by the caller); returns (terminal, terminal value)."""
    keys = _move_keys(board)
    clock = board.halfmove_clock
    if not keys:
        terminal, value = True, (-1.0 if board.is_check() else 0.0)
    else:  # the draws of _draw_reason, with the repetitions counted by the caller
        terminal = board.is_insufficient_material() or clock >= 100 or (
            clock >= 8 and occurrences >= 2)
        value = 0.0
    if not terminal:
        out_legal[_ENCODE[int(board.turn)][keys]] = True
    repetitions = 0 if clock < 4 or occurrences < 1 else (
        2 if clock >= 8 and occurrences >= 2 else 1)
    encode_board(board, repetitions, out_obs)
    return terminal, value


def _mask_from_keys(board: chess.Board, keys: list[int]) -> np.ndarray:
    mask = np.zeros(NUM_ACTIONS, dtype=bool)
    if keys:
        mask[_ENCODE[int(board.turn)][keys]] = True
    return mask


_UCI_PATTERN = re.compile(r"[a-h][1-8][a-h][1-8][qrbn]?")
_MOVES_SEPARATOR = re.compile(r"\s+moves(?:\s+|$)")


class ChessGame:
    """Chess behind the game protocol (see games/base.py and the module docstring)."""

    name = "chess"
    num_actions = NUM_ACTIONS
    observation_shape = OBSERVATION_SHAPE
    player_names = ("White", "Black")
    move_notation = "SAN like Nf3, exd5, O-O, e8=Q or UCI like g1f3"
    position_notation = "a FEN or 'startpos moves ...'"
    empty_position_allowed = False
    default_opening_plies = 4
    match_max_plies = 512

    def initial_state(self) -> chess.Board:
        return chess.Board()

    def legal_mask(self, board: chess.Board) -> np.ndarray:
        """bool[4672], True for the legal moves; all False when the game is over."""
        keys = _move_keys(board)
        if not keys or _draw_reason(board) is not None:
            return np.zeros(NUM_ACTIONS, dtype=bool)
        return _mask_from_keys(board, keys)

    def legal_actions(self, board: chess.Board) -> np.ndarray:
        """int64[L] of the legal action indices, ascending (empty when the game is over)."""
        keys = _move_keys(board)
        if not keys or _draw_reason(board) is not None:
            return np.zeros(0, dtype=np.int64)
        return np.sort(_ENCODE[int(board.turn)][keys]).astype(np.int64)

    def apply(self, board: chess.Board, action: int) -> chess.Board:
        """The board after ``action``; raises IllegalMoveError unless it is legal in chess."""
        try:
            move = decode_action(board, action)
        except ValueError as err:
            raise IllegalMoveError(str(err)) from None
        if not board.is_legal(move):
            raise IllegalMoveError(f"action {action} ({move.uci()}) is illegal in {board.fen()}")
        new = _copy_board(board)
        new.push(move)
        return new

    def is_terminal(self, board: chess.Board) -> bool:
        return outcome_reason(board) is not None

    def terminal_value(self, board: chess.Board) -> float:
        """-1.0 when the side to move is checkmated, else 0.0 (draws and unfinished games)."""
        return -1.0 if board.is_check() and not any(board.generate_legal_moves()) else 0.0

    def outcome_reason(self, board: chess.Board) -> str | None:
        return outcome_reason(board)

    def describe(self, board: chess.Board) -> tuple[np.ndarray, np.ndarray, bool, float]:
        """(encode, legal_mask, is_terminal, terminal_value) generating the moves once."""
        keys = _move_keys(board)
        if not keys:
            terminal, value = True, (-1.0 if board.is_check() else 0.0)
        else:
            terminal, value = _draw_reason(board) is not None, 0.0
        mask = np.zeros(NUM_ACTIONS, dtype=bool) if terminal else _mask_from_keys(board, keys)
        return encode_board(board), mask, terminal, value

    # Packed node states (games/base.py, ``PackedGame``): the search keeps 104 bytes a node
    # instead of a board with its move stack (games/chess_nodes.py).
    packed_state_size = chess_nodes.STATE_SIZE

    def pack_state(self, board: chess.Board) -> tuple[np.ndarray, np.ndarray]:
        """(int64[13] row of ``board``, int64[H, 13] rows of the positions before it that a
        repetition can reach): ``chess_nodes.pack_root``."""
        return chess_nodes.pack_root(board)

    @staticmethod
    def step_packed(rows: np.ndarray, parents: np.ndarray, history: np.ndarray, parent: int,
                    action: int, node: int, out_obs: np.ndarray, out_legal: np.ndarray
                    ) -> tuple[bool, float]:
        """Write into ``rows[node]`` the position after the legal ``action`` from
        ``rows[parent]`` and describe it as ``describe`` does: observation into ``out_obs``,
        legal mask into ``out_legal`` (zeroed by the caller); returns (terminal, value).
        ``parents``: int[N], the tree's parent of each node (-1 at the root, node 0);
        ``history``: the second answer of ``pack_state`` for the root."""
        packed = rows.view(np.uint64)
        board = chess_nodes.unpack(packed[parent].tolist())
        move = decode_action(board, action)
        reversible = not board.is_irreversible(move)
        board.push(move)
        packed[node] = chess_nodes.pack(board, reversible)
        occurrences = chess_nodes.earlier_occurrences(rows, parents, history, node, 2)
        return describe_into(board, occurrences, out_obs, out_legal)

    def to_play(self, board: chess.Board) -> int:
        return 0 if board.turn == chess.WHITE else 1

    def encode(self, board: chess.Board) -> np.ndarray:
        """float32[21, 8, 8] from the side to move's view (planes in the module docstring)."""
        return encode_board(board)

    def symmetries(
        self, observation: np.ndarray, policy: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Only the identity: castling and pawn direction break the board's symmetries."""
        return [(observation, policy)]

    def parse_move(self, board: chess.Board, text: str) -> int:
        """Action of a move in SAN ("Nf3", "e8=Q", "O-O") or UCI ("g1f3", "e7e8q")."""
        move = parse_chess_move(board, text)
        return encode_move(move, board.turn)

    def format_move(self, board: chess.Board, action: int) -> str:
        """UCI text ("e2e4", "e7e8q") of a legal action."""
        return self._legal_move(board, action).uci()

    def format_move_san(self, board: chess.Board, action: int) -> str:
        """SAN text ("e4", "Nxf7+", "O-O") of a legal action."""
        return board.san(self._legal_move(board, action))

    def parse_position(self, text: str) -> chess.Board:
        """A board from a FEN, ``startpos``, ``startpos moves e2e4 ...`` or
        ``fen <FEN> moves ...``; raises InvalidPositionError."""
        return parse_chess_position(text)

    def format_position(self, board: chess.Board) -> str:
        return board.fen()

    def move_number(self, board: chess.Board) -> int:
        """The full-move number: 1 at the start, up by one after each Black move."""
        return board.fullmove_number

    def format_pgn(self, board: chess.Board, tags: Mapping[str, str]) -> str:
        """The game that led to ``board`` (its move stack) as PGN text with ``tags``."""
        import chess.pgn  # lazy: only play and match write PGN

        game = chess.pgn.Game.from_board(board)
        game.headers.update(tags)
        return str(game) + "\n"

    def render(self, board: chess.Board) -> str:
        """Unicode board from White's side with rank and file labels, and whose move it is
        (nothing under a finished game: its result is said by whoever shows it)."""
        return _render(board, from_black=False)

    def render_flipped(self, board: chess.Board) -> str:
        """`render` from Black's side (rank 1 at the top, file h on the left)."""
        return _render(board, from_black=True)

    def _legal_move(self, board: chess.Board, action: int) -> chess.Move:
        try:
            move = decode_action(board, action)
        except ValueError as err:
            raise IllegalMoveError(str(err)) from None
        if not board.is_legal(move):
            raise IllegalMoveError(f"action {action} ({move.uci()}) is illegal in {board.fen()}")
        return move


def parse_chess_move(board: chess.Board, text: str, *, claimed_draws: bool = True) -> chess.Move:
    """The legal move written ``text`` (SAN or UCI); raises IllegalMoveError saying why.

    With ``claimed_draws`` (the game's own rule) no move follows a draw that could be
    claimed; without, only the automatic ends stop the game (``automatic_outcome_reason``).
    """
    text = text.strip()
    if not text:
        raise IllegalMoveError("empty move: write SAN (Nf3, e8=Q, O-O) or UCI (g1f3, e7e8q)")
    reason = outcome_reason(board) if claimed_draws else automatic_outcome_reason(board)
    if reason is not None:
        raise IllegalMoveError(f"cannot play {text!r}: the game is over ({reason})")
    try:
        if _UCI_PATTERN.fullmatch(text):
            move = board.parse_uci(text)
        else:
            move = board.parse_san(text)
    except chess.AmbiguousMoveError:
        raise IllegalMoveError(
            f"ambiguous move {text!r}: several legal moves match; name the origin file or rank"
        ) from None
    except chess.IllegalMoveError:
        hint = ""
        if _UCI_PATTERN.fullmatch(text + "q") and board.is_legal(chess.Move.from_uci(text + "q")):
            hint = f" (a promotion needs its piece, e.g. {text}q)"
        raise IllegalMoveError(
            f"illegal move {text!r} in this position{hint}: {board.fen()}"
        ) from None
    except ValueError:
        raise IllegalMoveError(
            f"malformed move {text!r}: write SAN (Nf3, e8=Q, O-O) or UCI (g1f3, e7e8q)"
        ) from None
    if not move:
        raise IllegalMoveError(f"null move {text!r} is not allowed")
    return move


def parse_chess_position(text: str) -> chess.Board:
    """See ``ChessGame.parse_position``. The moves are those of a game between players:
    each must be legal, and a draw nobody claimed does not end the game (only the
    automatic ends do, see ``automatic_outcome_reason``)."""
    text = text.strip()
    head, *rest = _MOVES_SEPARATOR.split(text, maxsplit=1)
    moves = rest[0].split() if rest else []
    if head == "startpos":
        board = chess.Board()
    else:
        fen = head[len("fen") :].strip() if head.startswith("fen ") else head
        if not fen:
            raise InvalidPositionError("empty position: give a FEN, 'startpos' or 'fen <FEN>'")
        try:
            board = chess.Board(fen)
        except ValueError as err:
            raise InvalidPositionError(f"malformed FEN {fen!r}: {err}") from None
        if not board.is_valid():
            problems = [flag.name.lower().replace("_", " ") for flag in board.status()]
            raise InvalidPositionError(f"invalid position {fen!r}: {', '.join(problems)}")
    for index, token in enumerate(moves):
        try:
            move = parse_chess_move(board, token, claimed_draws=False)
        except IllegalMoveError as err:
            message = f"move {token!r} at index {index} of the move list: {err}"
            raise InvalidPositionError(message) from None
        board.push(move)
    return board


GAME = ChessGame()


def _render(board: chess.Board, *, from_black: bool) -> str:
    files = range(7, -1, -1) if from_black else range(8)
    ranks = range(8) if from_black else range(7, -1, -1)
    labels = "  " + " ".join(chess.FILE_NAMES[f] for f in files)
    lines = [labels]
    for rank in ranks:
        cells = []
        for file in files:
            piece = board.piece_at(chess.square(file, rank))
            cells.append(piece.unicode_symbol() if piece else "·")
        lines.append(f"{rank + 1} {' '.join(cells)} {rank + 1}")
    lines.append(labels)
    if outcome_reason(board) is None:
        lines.append(f"{'White' if board.turn == chess.WHITE else 'Black'} to move")
    return "\n".join(lines)

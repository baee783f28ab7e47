"""Bitboard rules and a depth-limited negamax search for Connect Four (6 rows, 7 columns).

A position is two ints: ``mine`` (the stones of the player to move) and ``mask`` (all stones).
Column ``c`` uses bits ``7c .. 7c+5`` from the bottom up; bit ``7c+6`` stays empty so that the
shifts below never carry a line from one column into the next. Everything here is a pure
function, so the opponent and the oracle share it and the tests can call it directly.
"""

from __future__ import annotations

from functools import lru_cache

ROWS, COLS = 6, 7
_H = ROWS + 1  # bits per column, with the empty guard bit
BOTTOM = sum(1 << (_H * c) for c in range(COLS))
BOARD = BOTTOM * ((1 << ROWS) - 1)
TOP = [1 << (_H * c + ROWS - 1) for c in range(COLS)]
COLUMN = [((1 << ROWS) - 1) << (_H * c) for c in range(COLS)]
#: Columns nearest the centre first: they are usually best, which makes alpha-beta cut sooner.
ORDER = (3, 2, 4, 1, 5, 0, 6)
CENTRE = COLUMN[3]
#: Rows 1, 3 and 5 counted from the bottom: a threat there is worth most to the first player,
#: a threat on rows 2, 4 and 6 to the second (who fills the odd rows when the board fills up).
ODD_ROWS = BOTTOM * 0b010101
EVEN_ROWS = BOTTOM * 0b101010
#: Bigger than any heuristic value; a win scores WIN plus the number of empty cells left.
WIN = 1000
_INFINITY = 10_000


def bit_of(col: int, row: int) -> int:
    """The bit of the cell in ``col`` at ``row`` (0 = bottom)."""
    return 1 << (_H * col + row)


def playable(mask: int) -> int:
    """The cells where a stone can be dropped now (one per non-full column)."""
    return (mask + BOTTOM) & BOARD


def drop(mask: int, col: int) -> int:
    """The bit a stone dropped in ``col`` lands on (0 if the column is full)."""
    return (mask + (1 << (_H * col))) & COLUMN[col]


def is_win(stones: int) -> bool:
    """Whether ``stones`` contain four in a row in any direction."""
    for shift in (1, _H, _H - 1, _H + 1):
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> 2 * shift):
            return True
    return False


def threats(stones: int, mask: int) -> int:
    """Empty cells (playable or not yet) that would complete four for ``stones``."""
    found = (stones << 1) & (stones << 2) & (stones << 3)  # vertical: three below
    for shift in (_H, _H - 1, _H + 1):
        two = (stones << shift) & (stones << 2 * shift)
        found |= two & (stones << 3 * shift)
        found |= two & (stones >> shift)
        two = (stones >> shift) & (stones >> 2 * shift)
        found |= two & (stones << shift)
        found |= two & (stones >> 3 * shift)
    return found & (BOARD ^ mask)


def evaluate(mine: int, theirs: int, mine_threats: int, their_threats: int) -> int:
    """A heuristic value for the player to move (``mine``; ``theirs`` are the other stones;
    the threats are from :func:`threats`): open threats count most, double on the rows where
    they tend to decide the endgame, then stones in the centre column."""
    if (mine | theirs).bit_count() % 2 == 0:  # the player to move started the game
        my_rows, their_rows = ODD_ROWS, EVEN_ROWS
    else:
        my_rows, their_rows = EVEN_ROWS, ODD_ROWS
    return (4 * (mine_threats.bit_count() - their_threats.bit_count()
                 + (mine_threats & my_rows).bit_count() - (their_threats & their_rows).bit_count())
            + (mine & CENTRE).bit_count() - (theirs & CENTRE).bit_count())


def negamax(mine: int, mask: int, depth: int, alpha: int, beta: int,
            table: dict[int, tuple[int, int, int]]) -> int:
    """The value of the position for the player to move, searched ``depth`` plies deep.

    Forced moves are followed without spending depth: an immediate win is taken, and a
    single opponent threat that is playable now must be blocked (two of them lose). ``table``
    remembers bounds found for positions (keyed by ``mine + mask``, unique for a position) as
    ``(depth, lower, upper)``; use one table per search.
    """
    moves = playable(mask)
    if not moves:
        return 0
    mine_threats = threats(mine, mask)
    if mine_threats & moves:
        return WIN + ROWS * COLS - mask.bit_count()
    theirs = mine ^ mask
    their_threats = threats(theirs, mask)
    must_block = their_threats & moves
    if must_block:
        if must_block & (must_block - 1):  # two threats: one can be blocked, not both
            return -(WIN + ROWS * COLS - mask.bit_count() - 1)
        return -negamax(theirs, mask | must_block, depth, -beta, -alpha, table)
    if depth == 0:
        return evaluate(mine, theirs, mine_threats, their_threats)
    key = mine + mask
    known = table.get(key)
    if known is not None and known[0] >= depth:
        _, lower, upper = known
        if lower >= beta or lower == upper:
            return lower
        if upper <= alpha:
            return upper
        alpha, beta = max(alpha, lower), min(beta, upper)
    first_alpha = alpha
    best = -_INFINITY
    for col in ORDER:
        move = moves & COLUMN[col]
        if move:
            value = -negamax(theirs, mask | move, depth - 1, -beta, -alpha, table)
            if value > best:
                best = value
                if value > alpha:
                    alpha = value
                    if alpha >= beta:
                        break
    if best <= first_alpha:
        table[key] = (depth, -_INFINITY, best)
    elif best >= beta:
        table[key] = (depth, best, _INFINITY)
    else:
        table[key] = (depth, best, best)
    return best


@lru_cache(maxsize=1 << 16)
def best_columns(mine: int, mask: int, depth: int) -> tuple[int, ...]:
    """All columns with the best ``depth``-ply negamax value for the player to move
    (memoised: openings recur from game to game)."""
    moves = playable(mask)
    theirs = mine ^ mask
    table: dict[int, tuple[int, int, int]] = {}
    best, columns = -_INFINITY, []
    for col in ORDER:
        move = moves & COLUMN[col]
        if not move:
            continue
        if is_win(mine | move):
            value = WIN + ROWS * COLS - mask.bit_count()
        else:
            # A window just below the best so far keeps every tie exact and cuts the rest.
            value = -negamax(theirs, mask | move, depth - 1, -_INFINITY, -(best - 1), table)
        if value > best:
            best, columns = value, [col]
        elif value == best:
            columns.append(col)
    return tuple(columns)

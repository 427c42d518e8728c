"""The bounds that keep a hostile or careless formula from hanging or exhausting a worker.

Every limit is checked before the work it guards is done (a string is never built and
then measured), so the cost of any accepted formula is bounded by these numbers times
the size of the record it reads.
"""

from __future__ import annotations

#: characters of formula text
MAX_SOURCE_LENGTH = 2_000
#: expression nodes after parsing (names, literals, operators, calls...)
MAX_NODES = 500
#: nesting depth; also keeps the generated Python under the parser's 200-bracket limit
MAX_DEPTH = 50
#: digits in a number literal or in text turned into a number by VALUE()
MAX_LITERAL_DIGITS = 30
#: significant digits of every computed number (Decimal context precision)
PRECISION = 28
#: numbers stay within 10**-MAX_EXPONENT .. 10**MAX_EXPONENT
MAX_EXPONENT = 999
#: largest absolute exponent accepted by ``**``
MAX_POWER_EXPONENT = 1_000
#: characters of any text the formula produces (``+``, ``*``, CONCAT, TEXT...)
MAX_TEXT_LENGTH = 100_000
#: items of a list literal (IN(x, [...]), ``x in [...]``)
MAX_LIST_ITEMS = 200
#: default time budget of one evaluation, in seconds
DEFAULT_TIME_BUDGET = 0.05
#: rows processed between two time-budget checks in aggregates
ROWS_PER_TIME_CHECK = 256
#: digits accepted by ROUND / CEILING / FLOOR
MAX_ROUND_DIGITS = 20
#: estimated steps of one evaluation (see engine.expressions.cost): about a millisecond
MAX_COST = 1_000
#: steps charged for a power whose exponent is not a whole-number literal
POWER_COST = 100

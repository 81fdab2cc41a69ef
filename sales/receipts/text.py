"""A receipt as plain text for thermal printers: 32 columns on 58 mm paper, 42 or 48 on 80 mm.

Widths are display cells, not code points (wcwidth): a CJK character takes two columns, a
combining accent none, so a line of 抹茶 or of Cyrillic fits the paper as it fits a line of
Latin. Long names wrap; amounts stay right-aligned on the last column.
"""

from wcwidth import center, rjust, width, wrap

from sales.receipts.content import Receipt, Row

WIDTHS = (32, 42, 48)
DEFAULT_WIDTH = 42
INDENT = 2
# A label keeps at least this many columns beside its amount before the amount moves below it.
_MIN_LABEL = 10


def _wrap(text: str, columns: int) -> list[str]:
    return wrap(text, columns, break_on_hyphens=False) or [""]


def _pair(row: Row, columns: int) -> list[str]:
    indent = " " * (INDENT if row.indent else 0)
    room = columns - len(indent)
    right_width = width(row.right)
    if right_width > room:  # an amount wider than the paper: it wraps too
        return [indent + line for line in _wrap(row.left, room)] + [
            rjust(line, columns) for line in _wrap(row.right, columns)
        ]
    label_room = room - right_width - 1
    if label_room >= _MIN_LABEL:  # the label wraps beside its amount
        label_lines = _wrap(row.left, label_room)
    else:  # too narrow beside it: the label takes the line, the amount follows if it must
        label_lines = _wrap(row.left, room)
        if width(label_lines[-1]) + 1 + right_width > room:
            return [indent + line for line in label_lines] + [rjust(row.right, columns)]
    last = label_lines[-1]
    label_lines[-1] = last + " " * (room - width(last) - right_width) + row.right
    return [indent + line for line in label_lines]


def render_text(receipt: Receipt, columns: int = DEFAULT_WIDTH) -> str:
    """The receipt in lines of at most `columns` display cells, each ending in a newline."""
    if columns not in WIDTHS:
        raise ValueError(f"A receipt is {', '.join(map(str, WIDTHS))} columns wide.")
    out: list[str] = []
    for row in receipt.rows:
        if row.kind == "rule":
            out.append("-" * columns)
        elif row.kind in ("title", "center"):
            out += [center(line, columns).rstrip() for line in _wrap(row.left, columns)]
        elif row.kind == "item":
            out += _wrap(row.left, columns)
        else:
            if row.strong:
                out.append("=" * columns)
            out += _pair(row, columns)
    return "".join(f"{line.rstrip()}\n" for line in out)

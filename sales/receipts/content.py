"""What a receipt says, whatever it is printed on: rows of text, every amount and date already
written for the store's currency and locale (Babel's CLDR data).

A receipt is a list of rows, and each format lays the same rows out: text for thermal printers
(`sales.receipts.text`), HTML (`.html`), PDF (`.pdf`). Text from people (product names, the
store's header and footer, a refund's reason) is cleaned of control characters on the way in:
a name can never send commands to a printer or reorder the text around it.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from core.money import ZERO, quantize_money
from sales.models import PaymentMethod, Refund, Sale, SaleLine
from stores.models import Store, User

# Bidirectional overrides and isolates: they would reorder what is printed around them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean(text: str) -> str:
    """One line of text from people, fit to print: control characters (ESC/POS commands,
    newlines, tabs) become spaces, bidirectional overrides go, runs of spaces are one."""
    kept = []
    for char in text:
        if char in _BIDI_CONTROLS:
            continue
        kept.append(" " if unicodedata.category(char) == "Cc" else char)
    return " ".join("".join(kept).split())


def clean_lines(text: str) -> list[str]:
    """A multi-line text (a header, a footer): each line cleaned, blank lines kept."""
    return [clean(line) for line in text.splitlines()] if text.strip() else []


@dataclass(frozen=True)
class Row:
    """One row of a receipt.

    `kind` is `title` (the store's name), `center` (header, footer and notes, centred),
    `rule` (a separator), `item` (a product's name, as wide as the paper) or `pair` (a label on
    the left and, right-aligned, its amount). `indent` sets a pair under its item; `strong`
    marks the total.
    """

    kind: str
    left: str = ""
    right: str = ""
    indent: bool = False
    strong: bool = False


@dataclass(frozen=True)
class Receipt:
    """A receipt's rows, and the names a format needs around them."""

    title: str  # "Sale 12", "Refund 3 of sale 12": the document's and the email's subject
    store_name: str
    rows: list[Row] = field(default_factory=list)


class _Writer:
    """Amounts, quantities and dates written as the store writes them."""

    def __init__(self, store: Store) -> None:
        self.currency = store.currency
        self.locale = store.locale or "en"
        self.zone = ZoneInfo(store.timezone)

    def money(self, value: Decimal, *, negative: bool = False) -> str:
        amount = quantize_money(value, self.currency)
        text = format_currency(-amount if negative else amount, self.currency, locale=self.locale)
        return self._spaced(text)

    def _spaced(self, text: str) -> str:
        # CLDR's currency spacing, which Babel leaves out: a symbol of letters is kept apart
        # from the digits by a no-break space ("KWD 2.510", "2,510 KWD"), a sign stays as is.
        symbol = get_currency_symbol(self.currency, locale=self.locale)
        if not symbol[:1].isalpha() and not symbol[-1:].isalpha():
            return text
        text = re.sub(rf"{re.escape(symbol)}(?=[\d])", f"{symbol}\xa0", text)
        return re.sub(rf"(?<=\d){re.escape(symbol)}", f"\xa0{symbol}", text)

    def quantity(self, value: Decimal) -> str:
        # 2.000 is "2", 0.250 is "0.25" (or "0,25"): as many places as the quantity has.
        return format_decimal(value.normalize(), locale=self.locale, decimal_quantization=False)

    def percent(self, rate: Decimal) -> str:
        return format_decimal(rate.normalize(), locale=self.locale, decimal_quantization=False)

    def day(self, value: datetime) -> str:
        """The local date, numeric with a four-digit year: 14.03.2026, 3/14/2026."""
        return format_skeleton("yMd", value, tzinfo=self.zone, locale=self.locale)

    def moment(self, value: datetime) -> str:
        """The local date and time to the second, joined as the locale joins them."""
        time = format_time(value, format="medium", tzinfo=self.zone, locale=self.locale)
        joined = str(Locale.parse(self.locale).datetime_formats["medium"])
        return joined.replace("{1}", self.day(value)).replace("{0}", time)


_METHODS = dict(PaymentMethod.choices)


def _person(user: User | None) -> str:
    if user is None:
        return ""
    return clean(user.full_name) or clean(user.email)


def _head(store: Store) -> list[Row]:
    rows = [Row("title", clean(store.name))]
    rows += [Row("center", line) for line in clean_lines(store.receipt_header)]
    if store.tax_id.strip():
        rows.append(Row("center", f"Tax ID: {clean(store.tax_id)}"))
    return [*rows, Row("rule")]


def _foot(store: Store) -> list[Row]:
    lines = clean_lines(store.receipt_footer)
    return [Row("rule"), *(Row("center", line) for line in lines)] if lines else []


def _taxes(
    writer: _Writer, taxed: Iterable[tuple[Decimal, Decimal]], *, included: bool, negative: bool
) -> list[Row]:
    """One row per tax rate: the rate and the tax at that rate, in rate order."""
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, amount in taxed:
        by_rate[rate] += amount
    word = "incl." if included else "added"
    return [
        Row("pair", f"Tax {writer.percent(rate)}% {word}", writer.money(amount, negative=negative))
        for rate, amount in sorted(by_rate.items())
        if rate
    ]


def _line_rows(writer: _Writer, line: SaleLine) -> list[Row]:
    gross = line.quantity * line.unit_price
    rows = [
        Row("item", clean(line.name)),
        Row(
            "pair",
            f"{writer.quantity(line.quantity)} × {writer.money(line.unit_price)}",
            writer.money(gross),
            indent=True,
        ),
    ]
    if line.discount:
        rows.append(
            Row("pair", "Discount", writer.money(line.discount, negative=True), indent=True)
        )
    return rows


def sale_receipt(*, sale: Sale, store: Store) -> Receipt:
    """The receipt of a sale, with the refunds made of it so far.

    `sale` comes from `selectors.sale_receipt_get`: its lines, payments, refunds, register,
    customer and cashier are read already.
    """
    writer = _Writer(store)
    lines = list(sale.lines.all())
    rows = _head(store)
    rows.append(Row("pair", "Sale", f"No. {sale.number}"))
    if sale.offline_number:
        rows.append(Row("pair", "Offline receipt", clean(sale.offline_number)))
    rows.append(Row("pair", "Date", writer.moment(sale.created_at)))
    rows.append(Row("pair", "Register", clean(sale.register.name)))
    if cashier := _person(sale.cashier):
        rows.append(Row("pair", "Cashier", cashier))
    if sale.customer is not None:
        rows.append(Row("pair", "Customer", clean(sale.customer.name)))
    rows.append(Row("rule"))
    for line in lines:
        rows += _line_rows(writer, line)
    rows.append(Row("rule"))
    rows.append(Row("pair", "Subtotal", writer.money(sale.subtotal)))
    if sale.discount_total:
        rows.append(Row("pair", "Discount", writer.money(sale.discount_total, negative=True)))
    rows += _taxes(
        writer,
        ((line.tax_rate, line.tax_amount) for line in lines),
        included=sale.prices_include_tax,
        negative=False,
    )
    rows.append(Row("pair", "TOTAL", writer.money(sale.total), strong=True))
    if sale.cash_rounding:
        rows.append(Row("pair", "Cash rounding", writer.money(sale.cash_rounding)))
        rows.append(Row("pair", "Due", writer.money(sale.total + sale.cash_rounding)))
    for payment in sale.payments.all():
        rows.append(Row("pair", _METHODS[payment.method], writer.money(payment.amount)))
    if sale.change_due:
        rows.append(Row("pair", "Change", writer.money(sale.change_due)))
    refunds = list(sale.refunds.all())
    if refunds:
        rows.append(Row("rule"))
        for refund in refunds:
            rows.append(
                Row(
                    "pair",
                    f"Refund {writer.day(refund.created_at)}",
                    writer.money(refund.total, negative=True),
                )
            )
        rows.append(Row("pair", "Refunded", writer.money(sale.refunded_total, negative=True)))
    rows += _foot(store)
    return Receipt(title=f"Sale {sale.number}", store_name=clean(store.name), rows=rows)


def refund_receipt(*, refund: Refund, store: Store) -> Receipt:
    """The receipt of a refund: what was given back, of which sale, and how.

    `refund` comes from `selectors.refund_receipt_get`, with its lines and sale read already.
    """
    writer = _Writer(store)
    sale = refund.sale
    refund_lines = list(refund.lines.all())
    rows = _head(store)
    rows.append(Row("pair", "Refund", f"No. {refund.pk}"))
    rows.append(Row("pair", "Date", writer.moment(refund.created_at)))
    rows.append(Row("pair", "Of sale", f"No. {sale.number}"))
    rows.append(Row("pair", "Sold", writer.moment(sale.created_at)))
    if by := _person(refund.created_by):
        rows.append(Row("pair", "By", by))
    rows.append(Row("rule"))
    for refund_line in refund_lines:
        rows.append(Row("item", clean(refund_line.line.name)))
        rows.append(
            Row(
                "pair",
                f"{writer.quantity(refund_line.quantity)} × "
                f"{writer.money(refund_line.line.unit_price)}",
                writer.money(refund_line.total, negative=True),
                indent=True,
            )
        )
    rows.append(Row("rule"))
    rows += _taxes(
        writer,
        ((refund_line.line.tax_rate, refund_line.tax_amount) for refund_line in refund_lines),
        included=True,
        negative=True,
    )
    rows.append(Row("pair", "REFUNDED", writer.money(refund.total, negative=True), strong=True))
    if refund.cash_rounding:
        rows.append(Row("pair", "Cash rounding", writer.money(refund.cash_rounding, negative=True)))
    paid = refund.total + refund.cash_rounding
    rows.append(Row("pair", _METHODS[refund.method], writer.money(paid, negative=True)))
    if refund.restock:
        rows.append(Row("center", "Goods returned to stock"))
    if reason := clean(refund.reason):
        rows.append(Row("center", reason))
    rows += _foot(store)
    return Receipt(
        title=f"Refund {refund.pk} of sale {sale.number}", store_name=clean(store.name), rows=rows
    )

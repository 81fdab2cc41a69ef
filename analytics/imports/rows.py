"""A catalog file's header and rows: which column is which field, and each row's cells checked
by the API's own fields (one rule for a product, typed or imported).

Columns are matched by their header, in English with the obvious synonyms ("Product name",
"Retail price", "EAN", "Qty"), whatever the case, spaces or punctuation. `name` and `price` are
required; unknown columns are ignored and reported. An empty cell leaves the product's field as
it is (a new product takes the default). A cell the exports neutralised (`'=…`) is read back as
it was; a formula is refused, as is a barcode that is not an EAN-8, EAN-13 or UPC-A with its
check digit (python-stdnum).
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rest_framework import serializers
from stdnum import ean
from stdnum.exceptions import InvalidChecksum, ValidationError

from analytics.exports import FORMULA_STARTS
from catalog.serializers import ProductSerializer
from catalog.services import MAX_CATEGORY_DEPTH
from core.fields import PlainDecimalField

REQUIRED = ("name", "price")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "product", "product name", "item", "item name", "title", "description"),
    "price": ("price", "unit price", "sale price", "selling price", "retail price",
              "price incl tax"),
    "sku": ("sku", "code", "item code", "product code", "article", "article number", "reference",
            "ref", "plu"),
    "barcode": ("barcode", "bar code", "ean", "ean13", "ean 13", "ean8", "upc", "gtin"),
    "category": ("category", "category path", "categories", "group", "department"),
    "cost": ("cost", "cost price", "purchase price", "unit cost"),
    "tax_rate": ("tax rate", "tax", "vat", "vat rate", "tax percent", "vat percent"),
    "stock": ("stock", "quantity", "qty", "on hand", "stock quantity", "in stock", "inventory"),
    "is_active": ("is active", "active", "enabled"),
    "reorder_level": ("reorder level", "reorder point", "min stock", "minimum stock"),
}  # fmt: skip
TEXT_FIELDS = ("name", "sku", "barcode", "category")
BARCODE_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}
FORMULA_REFUSED = "A formula is not a value: type the value itself (or begin it with ')."
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")


def header_key(text: Any) -> str:
    """ "Product-Name " and "product_name" alike: lower case, words split by single spaces."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return " ".join(re.sub(r"[^\w%]+|_", " ", folded).split())


_FIELD_OF = {
    header_key(synonym): name for name, synonyms in SYNONYMS.items() for synonym in synonyms
}


@dataclass(frozen=True)
class Problem:
    row: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class Columns:
    """Where each field is in a row, and the header's columns that are no field."""

    index: dict[str, int]
    ignored: list[str] = field(default_factory=list)


def columns_of(header: Sequence[Any]) -> tuple[Columns, list[Problem]]:
    """The header's columns, or the problems that make the file unreadable (row 1)."""
    index: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for position, title in enumerate(header):
        key = header_key(title)
        name = _FIELD_OF.get(key)
        if name is None:
            if key:
                ignored.append(str(title))
        elif name in index:
            problems.append(
                Problem(1, name, f"Two columns are {name}: “{header[index[name]]}” and “{title}”.")
            )
        else:
            index[name] = position
    problems.extend(
        Problem(1, name, f"The required column “{name}” is missing.")
        for name in REQUIRED
        if name not in index
    )
    return Columns(index=index, ignored=ignored), problems


# Columns whose cells repeat down a file (a price, a tax rate, a flag): each distinct text is
# checked once, and up to this many per column are remembered (then forgotten, and begun again).
REPEATING = ("price", "cost", "tax_rate", "reorder_level", "is_active", "stock")
REMEMBERED = 10_000


class RowFields:
    """The API's fields for each column, made once and used for every cell."""

    def __init__(self) -> None:
        self._checked: dict[str, dict[str, tuple[bool, Any]]] = {name: {} for name in REPEATING}

    def value(self, name: str, text: str) -> Any:
        """The cell's value by its column's field; ValidationError when it is none."""
        checked = self._checked.get(name)
        if checked is None:
            return self.fields[name].run_validation(text)
        outcome = checked.get(text)
        if outcome is None:
            try:
                outcome = (True, self.fields[name].run_validation(text))
            except serializers.ValidationError as error:
                outcome = (False, error.detail)
            if len(checked) >= REMEMBERED:
                checked.clear()
            checked[text] = outcome
        good, result = outcome
        if not good:
            raise serializers.ValidationError(result)
        return result

    @cached_property
    def fields(self) -> dict[str, serializers.Field]:
        api = ProductSerializer().fields
        return {
            "name": api["name"],
            "sku": serializers.CharField(max_length=64),
            "barcode": serializers.CharField(max_length=64),
            "price": api["price"],
            "cost": api["cost"],
            "tax_rate": api["tax_rate"],
            "reorder_level": api["reorder_level"],
            "is_active": api["is_active"],
            "stock": PlainDecimalField(max_digits=12, decimal_places=3),
        }


def _text(value: Any) -> tuple[str, bool]:
    """The cell's text, and whether it is a formula. What the exports neutralised ('=SUM…) is
    text, and comes back as it was."""
    text = "" if value is None else str(value).strip()
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_STARTS:
        return text[1:], False
    return text, text.startswith(("=", "@"))


def _barcode(code: str) -> str:
    if not code.isdigit() or len(code) not in BARCODE_LENGTHS:
        raise serializers.ValidationError(
            "A barcode is an EAN-8, EAN-13 or UPC-A: 8, 13 or 12 digits (if the spreadsheet "
            "dropped leading zeros, format the column as text)."
        )
    try:
        ean.validate(code)
    except InvalidChecksum as error:
        raise serializers.ValidationError(
            f"The check digit of this {BARCODE_LENGTHS[len(code)]} is wrong."
        ) from error
    except ValidationError as error:  # pragma: no cover - the digits and length were checked
        raise serializers.ValidationError(str(error)) from error
    return code


def _category(path: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in path.split("/"))
    if any(not part for part in parts):
        raise serializers.ValidationError("A category path is names split by “/”: Drinks/Tea.")
    if len(parts) > MAX_CATEGORY_DEPTH:
        raise serializers.ValidationError(f"Categories nest at most {MAX_CATEGORY_DEPTH} deep.")
    if any(len(part) > 100 for part in parts):
        raise serializers.ValidationError("A category's name has at most 100 characters.")
    return parts


def row_values(
    cells: Sequence[Any], *, columns: Columns, fields: RowFields, comma_decimals: bool, row: int
) -> tuple[dict[str, Any], list[Problem]]:
    """The row's values by field (only the cells that are filled in), or its problems.

    `comma_decimals`: "3,50" is 3.50 (a CSV whose delimiter is not the comma).
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, position in columns.index.items():
        text, formula = _text(cells[position] if position < len(cells) else None)
        if not text:
            if name in REQUIRED:
                problems.append(Problem(row, name, "This field is required."))
            continue
        if formula and name in TEXT_FIELDS:
            problems.append(Problem(row, name, FORMULA_REFUSED))
            continue
        try:
            if name == "barcode":
                values[name] = _barcode(text)
            elif name == "category":
                values[name] = _category(text)
            else:
                if name == "tax_rate" and text.endswith("%"):
                    text = text[:-1].strip()
                if comma_decimals and _COMMA_DECIMAL.match(text):
                    text = text.replace(",", ".")
                values[name] = fields.value(name, text)
        except serializers.ValidationError as error:
            detail = error.detail
            message = detail[0] if isinstance(detail, list) and detail else detail
            problems.append(Problem(row, name, str(message)))
    return values, problems

"""A spreadsheet file as rows of cells, whatever it is: XLSX (openpyxl, read-only, row by row) or
CSV text in any common encoding and with any common delimiter, both found out and reported.

The encoding: a byte-order mark says it; else UTF-8 if the whole file is UTF-8 (checked as a
stream); else charset-normalizer's pick among `settings.IMPORT_ENCODINGS` (Windows-1252 and
-1251 by default: what Excel saves "CSV" in for Western and Cyrillic shops; a longer list makes
it guess between near-identical code pages), checked over the whole file too. Bytes that are no
text at all (a NUL, or nothing decodes) refuse the file. The delimiter: csv.Sniffer's pick
among `,` `;` tab `|` in the first lines, else the one the header line holds most of.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import charset_normalizer
from django.conf import settings
from openpyxl import load_workbook

DELIMITERS = ",;\t|"
SAMPLE_BYTES = 64 * 1024
# A cell longer than any field Kassa keeps is refused before it is held whole.
MAX_CELL_CHARS = 10_000


class FileRefused(ValueError):
    """The file cannot be read as a spreadsheet; the message says why, for its owner."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


@dataclass
class Sheet:
    """The rows of a file (the header first), and what was found out about it."""

    format: str
    rows: Iterator[tuple[Any, ...]]
    encoding: str | None = None
    delimiter: str | None = None
    # Rows the file holds (XLSX says; for CSV, an estimate from its size), for progress.
    size_hint: int | None = None


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRefused("The file is neither CSV text nor an XLSX workbook.")
    if _decodes(path, "utf-8"):
        return "utf-8"
    guess = charset_normalizer.from_path(path, cp_isolation=list(settings.IMPORT_ENCODINGS)).best()
    if guess is None or not _decodes(path, guess.encoding):
        raise FileRefused(
            "The file is not text in a known encoding (UTF-8, "
            + ", ".join(codecs.lookup(name).name for name in settings.IMPORT_ENCODINGS)
            + "), nor an XLSX workbook."
        )
    return codecs.lookup(guess.encoding).name


def _delimiter(sample: str) -> str:
    lines = sample.splitlines()
    head = "\n".join(lines[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _csv_rows(handle: io.TextIOBase, delimiter: str) -> Iterator[tuple[str, ...]]:
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        for row in reader:
            yield tuple(row)
    except csv.Error as error:
        raise FileRefused(f"The CSV cannot be read: {error}.", row=reader.line_num) from error
    except UnicodeDecodeError as error:  # pragma: no cover - the whole file was decoded before
        raise FileRefused("The file changed while it was read.") from error


def _xlsx_value(value: Any) -> Any:
    """A workbook's cell as the importer takes cells: text, or None for an empty one."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # As Excel shows it (15 significant digits): 19.99, never 19.989999999999998.
        return format(Decimal(f"{value:.15g}"), "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


@contextmanager
def sheet_open(path: Path) -> Iterator[Sheet]:
    """The file's rows, read as they are iterated; FileRefused when it cannot be read."""
    max_field = csv.field_size_limit()
    if zipfile.is_zipfile(path):
        # A file object: openpyxl judges a path by its extension, and an upload has none.
        handle = path.open("rb")
        try:
            book = load_workbook(handle, read_only=True, data_only=False)
        except Exception as error:  # openpyxl raises what its zip and XML readers raise
            handle.close()
            raise FileRefused("The file is a ZIP archive but not an XLSX workbook.") from error
        try:
            sheet = book.worksheets[0] if book.worksheets else None
            if sheet is None:
                raise FileRefused("The workbook has no sheet.")
            rows = (
                tuple(_xlsx_value(value) for value in row)
                for row in sheet.iter_rows(values_only=True)
            )
            yield Sheet(format="xlsx", rows=rows, size_hint=sheet.max_row)
        finally:
            book.close()
            handle.close()
        return
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(SAMPLE_BYTES)
        handle.seek(0)
        delimiter = _delimiter(sample)
        lines_in_sample = max(1, sample.count("\n"))
        size_hint = max(1, path.stat().st_size * lines_in_sample // max(1, len(sample)))
        csv.field_size_limit(MAX_CELL_CHARS)
        try:
            yield Sheet(
                format="csv",
                rows=_csv_rows(handle, delimiter),
                encoding=encoding,
                delimiter=delimiter,
                size_hint=size_hint,
            )
        finally:
            csv.field_size_limit(max_field)

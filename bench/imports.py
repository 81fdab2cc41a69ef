"""Catalog imports at size: time and the importing process's peak memory.

    python bench/imports.py [--rows 100000]

A CSV of `--rows` products (sku, EAN-13 barcode, a two-level category path, prices, tax rate,
stock, reorder level) is imported into a new store, and a tenth of it into another, each in a
fresh child process (as a worker runs one job): the peak memory (the child's max RSS) should be
the same for both (the issue's "memory flat"). Then the whole file again into the first store
(every row unchanged), and once more with every price changed (every row updated). Floor: the
full import under 60 s. The stores are removed at the end.
"""

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
from pathlib import Path

from _setup import remove, setup_django

setup_django()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from stdnum import ean  # noqa: E402

from analytics.imports import catalog_import  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from stores.models import User  # noqa: E402

FLOOR_SECONDS = 60


def catalog_file(path: Path, rows: int, *, price_shift: int = 0) -> None:
    rng = random.Random(rows)
    departments = ["Drinks", "Food", "Home", "Garden", "Toys"]
    with path.open("w", encoding="utf-8") as out:
        out.write("name,sku,barcode,category,price,cost,tax_rate,stock,reorder_level,is_active\n")
        for n in range(1, rows + 1):
            digits = f"400{n:09d}"
            barcode = digits + ean.calc_check_digit(digits)
            category = f"{departments[n % 5]}/Shelf {n % 10}"
            cents = rng.randint(50, 20000) + price_shift
            out.write(
                f"Product {n} «Ёлка»,SKU-{n:07d},{barcode},{category},{cents // 100}."
                f"{cents % 100:02d},{cents // 200}.00,{rng.choice((0, 7, 20))},"
                f"{rng.randint(0, 500)},{rng.randint(0, 5)},true\n"
            )


def _child(store_pk: int, path: str, out: dict) -> None:
    from stores.models import Store  # noqa: PLC0415 - in the child, after the fork

    connection.close()
    store = Store.objects.get(pk=store_pk)
    with tenant_context(store):
        started = time.perf_counter()
        report = catalog_import(path=Path(path))
        out["seconds"] = time.perf_counter() - started
        out["result"] = {k: v for k, v in report.as_result().items() if k != "errors"}
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(store_pk: int, path: Path) -> dict:
    with multiprocessing.Manager() as manager:
        out = manager.dict()
        child = multiprocessing.get_context("fork").Process(
            target=_child, args=(store_pk, str(path), out)
        )
        connection.close()
        child.start()
        child.join()
        return dict(out)


def show(label: str, figures: dict, *, floor: bool = False) -> None:
    result = figures["result"]
    rows = result["rows"]
    line = (
        f"{label:<28} {rows:>7} rows in {figures['seconds']:5.1f} s "
        f"({rows / figures['seconds']:,.0f} rows/s; created {result['created']}, updated "
        f"{result['updated']}, unchanged {result['unchanged']}, errors {result['error_count']}), "
        f"peak memory {figures['peak_mib']:.0f} MiB"
    )
    if floor:
        line += f"  [floor: under {FLOOR_SECONDS} s]"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-imports@bench.kassa.local")
    big = store_signup(user=owner, name="Import Bench", currency="EUR", timezone="UTC").store
    small = store_signup(user=owner, name="Import Bench S", currency="EUR", timezone="UTC").store
    try:
        with tempfile.TemporaryDirectory() as folder:
            whole, tenth, repriced = (Path(folder) / name for name in ("a.csv", "b.csv", "c.csv"))
            catalog_file(whole, args.rows)
            catalog_file(tenth, args.rows // 10)
            catalog_file(repriced, args.rows, price_shift=1)
            show("new store, a tenth", measured(small.pk, tenth))
            show("new store, the whole file", measured(big.pk, whole), floor=True)
            show("again: every row unchanged", measured(big.pk, whole))
            show("every price changed", measured(big.pk, repriced))
    finally:
        connection.close()
        owner_id = owner.pk
        remove(small, owner)
        big.delete(force_drop=True)
        User.objects.filter(pk=owner_id).delete()


if __name__ == "__main__":
    main()

"""A demo store's catalog and customers, made through the catalog and customers services."""

import random
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal

from catalog.models import Category, Product
from catalog.services import category_create, product_create
from core.money import quantize_money
from customers.models import Customer
from customers.services import customer_create
from ops.demo.data import (
    BRANDS,
    CATALOG,
    FIRST_NAMES,
    LAST_NAMES,
    StoreProfile,
    ean13_check_digit,
)

HUNDRED = Decimal("100")


def person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def is_weighed(product: Product) -> bool:
    return product.name.endswith("(kg)")


def _product_specs(rng: random.Random, count: int) -> Iterator[tuple[tuple, str, str]]:
    """(category, name, EUR price) × `count`: every item plain, then under each brand, …"""
    items = [
        (category, *entry.strip().rsplit(":", 1))
        for category in CATALOG
        for entry in category[3].split(";")
    ]
    brands = rng.sample(BRANDS, len(BRANDS))
    made, round_number = 0, 0
    while True:
        for category, name, price in rng.sample(items, len(items)):
            if made == count:
                return
            if round_number:
                brand = brands[(round_number - 1) % len(brands)]
                repeat = (round_number - 1) // len(brands)
                name = f"{brand} {name}" + (f" {repeat + 1}" if repeat else "")  # noqa: PLW2901
            yield category, name, price
            made += 1
        round_number += 1


def _price(rng: random.Random, profile: StoreProfile, base: Decimal) -> Decimal:
    """The EUR price at the store's price level, give or take, ending as shelf prices do."""
    factor = Decimal(profile.price_factor)
    raw = base * factor * rng.randint(85, 120) / HUNDRED
    if factor >= 4:  # kronor, złoty: 12.90 rather than 12.49
        return max(raw.to_integral_value(ROUND_FLOOR), Decimal(1)) + Decimal("0.90")
    tenths = (raw * 10).to_integral_value(ROUND_FLOOR) / 10
    return quantize_money(max(tenths, Decimal("0.4")) + Decimal("0.09"), profile.currency)


def _barcode(rng: random.Random, profile: StoreProfile) -> str:
    prefix = profile.barcode_prefix
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    return body + str(ean13_check_digit(body))


def demo_catalog_create(*, rng: random.Random, profile: StoreProfile, count: int) -> list[Product]:
    """`count` products with their categories, in the active store; none in stock yet."""
    categories: dict[str, Category] = {}
    barcodes: set[str] = set()
    products = []
    for number, (spec, name, base_price) in enumerate(_product_specs(rng, count), start=1):
        category_name, code, is_reduced, _items = spec
        if category_name not in categories:
            categories[category_name] = category_create(name=category_name)
        barcode = _barcode(rng, profile)
        while barcode in barcodes:  # unique per store, as the table demands
            barcode = _barcode(rng, profile)
        barcodes.add(barcode)
        price = _price(rng, profile, Decimal(base_price))
        products.append(
            product_create(
                name=name,
                sku=f"{code}-{number:04d}",
                barcode=barcode,
                category=categories[category_name],
                price=price,
                cost=quantize_money(price * rng.randint(50, 72) / HUNDRED, profile.currency),
                tax_rate=Decimal(profile.reduced_rate if is_reduced else profile.standard_rate),
            )
        )
    return products


def demo_customers_create(
    *, rng: random.Random, profile: StoreProfile, count: int
) -> list[Customer]:
    """`count` shoppers in the active store, most with a phone number, some with an email."""
    customers = []
    for number in range(1, count + 1):
        first, last = person_name(rng)
        phone = ""
        if rng.random() < 0.7:
            phone = f"{profile.phone_prefix} {rng.randrange(1000):03d} {rng.randrange(10000):04d}"
        email = ""
        if rng.random() < 0.5:
            email = f"{first}.{last}{number}@example.com".lower()
        customers.append(customer_create(name=f"{first} {last}", phone=phone, email=email))
    return customers

"""What the catalog's events say (`core.events`): a product as it is now, a stock level crossed."""

from decimal import Decimal
from typing import Any

from catalog.models import Product
from core.money import format_money
from stores.tenancy import current_store


def _quantity(value: object) -> str:
    """As the API writes a quantity: three places ("4.000")."""
    return format(Decimal(value).quantize(Decimal("0.001")), "f")


def product_changed_data(product: Product, *, change: str) -> dict[str, Any]:
    """`product.changed`: created, updated, deactivated (or, with only its id, deleted)."""
    currency = current_store().currency
    return {
        "id": product.pk,
        "change": change,
        "name": product.name,
        "sku": product.sku,
        "barcode": product.barcode,
        "category": product.category_id,
        "price": format_money(product.price, currency),
        "tax_rate": format(Decimal(product.tax_rate).quantize(Decimal("0.01")), "f"),
        "is_active": product.is_active,
        "reorder_level": None
        if product.reorder_level is None
        else _quantity(product.reorder_level),
    }


def stock_low_data(product: Product) -> dict[str, Any]:
    """`stock.low`: the product's stock fell from above its reorder level to it or below."""
    return {
        "product": product.pk,
        "name": product.name,
        "sku": product.sku,
        "stock": _quantity(product.stock),
        "reorder_level": _quantity(product.reorder_level),
    }

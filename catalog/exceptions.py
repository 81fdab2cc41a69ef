"""Domain errors of the catalog."""

from core.exceptions import Conflict


class InsufficientStock(Conflict):
    """Some product would go below zero; `products` lists each: `id`, `requested`, `available`."""

    default_detail = "Not enough stock."
    default_code = "insufficient_stock"


class CategoryInUse(Conflict):
    default_detail = "This category still has products or subcategories."
    default_code = "category_in_use"

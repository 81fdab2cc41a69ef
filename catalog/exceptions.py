"""Domain errors of the catalog."""

from core.exceptions import Conflict


class InsufficientStock(Conflict):
    """Some product would go below zero; `products` lists each: `id`, `requested`, `available`."""

    default_detail = "Not enough stock."
    default_code = "insufficient_stock"


class CategoryInUse(Conflict):
    default_detail = "This category still has products or subcategories."
    default_code = "category_in_use"


class StockOutOfRange(Conflict):
    """A change would take some product's stock past what the ledger holds; `products` lists
    each: `id`, `requested` (the change), `available` (the stock now)."""

    default_detail = "Stock would go beyond what a product's stock can hold."
    default_code = "stock_out_of_range"

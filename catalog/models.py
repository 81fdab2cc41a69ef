"""Tables of a store's catalog, in the store's own schema: categories, products, stock movements."""

from decimal import Decimal
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from core.money import MoneyColumn
from stores.models import user_reference

ZERO = Decimal("0")


def _change_version() -> models.BigIntegerField:
    """The catalog's change number of the row's last change (catalog.changes): tills that
    keep a copy of the catalog ask for what changed after the number they have."""
    return models.BigIntegerField(default=0, db_index=True, editable=False)


class Category(models.Model):
    """A node of the store's category tree."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(default=now)
    version = _change_version()

    class Meta:
        verbose_name_plural = "categories"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                nulls_distinct=False,
                name="catalog_category_name_unique_under_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Something the store sells. `stock` changes only through catalog.services.stock_apply."""

    name = models.CharField(max_length=200)
    # NULL, not "", when absent: uniqueness applies only to the codes a store gives.
    sku = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    barcode = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Indexed by `catalog_product_category_idx` (Meta), not twice.
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        db_index=False,
    )
    price = MoneyColumn(validators=[MinValueValidator(ZERO)])
    cost = MoneyColumn(default=ZERO, validators=[MinValueValidator(ZERO)])
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    stock = models.DecimalField(max_digits=12, decimal_places=3, default=ZERO)
    # Stock falling from above this to it or below emits `stock.low` (none: never).
    reorder_level = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text="Stock falling to this or below emits `stock.low` (empty: never).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)
    # Changes of the catalog (not of the stock, which sales change all day) bump it.
    version = _change_version()
    # When the price last changed (PriceChange keeps the earlier ones): a sale made offline
    # before it is priced as the till priced it then.
    price_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["sku"], name="catalog_product_sku_unique"),
            models.UniqueConstraint(fields=["barcode"], name="catalog_product_barcode_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="catalog_product_price_gte_0"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="catalog_product_cost_gte_0"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100),
                name="catalog_product_tax_rate_0_100",
            ),
            models.CheckConstraint(condition=~Q(sku=""), name="catalog_product_sku_null_not_empty"),
            models.CheckConstraint(
                condition=~Q(barcode=""), name="catalog_product_barcode_null_not_empty"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["name"], name="catalog_product_name_idx"),
            models.Index(fields=["category"], name="catalog_product_category_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class StockMovement(models.Model):
    """One change of one product's stock; a product's movements sum to its stock."""

    class Reason(models.TextChoices):
        RESTOCK = "restock", "Restock"
        COUNT = "count", "Stock count"
        DAMAGE = "damage", "Damage"
        OTHER = "other", "Other"
        SALE = "sale", "Sale"
        REFUND = "refund", "Refund"

    # What a person may record by hand; sales and refunds write their own.
    MANUAL_REASONS: ClassVar = (Reason.RESTOCK, Reason.COUNT, Reason.DAMAGE, Reason.OTHER)

    # Indexed by `catalog_movement_product_idx` (Meta), whose first column it is: one index
    # fewer for every movement written.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    delta = models.DecimalField(max_digits=12, decimal_places=3)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    sale = models.ForeignKey(
        "sales.Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    refund = models.ForeignKey(
        "sales.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    created_by = user_reference(null=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(delta=0), name="catalog_movement_delta_not_0"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["product", "-created_at"], name="catalog_movement_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.delta:+} ({self.reason})"


class CatalogCounter(models.Model):
    """The catalog's change numbers: incremented in the transaction of each change and locked
    until it commits, so changes become visible in the order of their numbers."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class CatalogDeletion(models.Model):
    """A product or category deleted, for the tills' copies of the catalog."""

    class Kind(models.TextChoices):
        PRODUCT = "product", "Product"
        CATEGORY = "category", "Category"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField()
    version = models.BigIntegerField(unique=True)
    deleted_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} deleted at {self.version}"


class PriceChange(models.Model):
    """A product's price from `changed_at` on: the prices offline sales are held to."""

    # Indexed by `catalog_price_change_at_idx` (Meta), whose first column it is.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="price_changes", db_index=False
    )
    price = MoneyColumn()
    changed_at = models.DateTimeField(default=now)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["product", "changed_at"], name="catalog_price_change_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.price} from {self.changed_at}"

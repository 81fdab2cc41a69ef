"""Input and output shapes of the catalog API."""

from decimal import Decimal

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from catalog.models import Category, Product, StockMovement
from core.fields import MoneyField, PlainDecimalField
from core.serializers import ModelSerializer


class CategorySerializer(ModelSerializer):
    """A category of the catalog: `parent` is another category's id, or null for a top one."""

    class Meta:
        model = Category
        fields = ("id", "name", "parent")


class ProductSerializer(ModelSerializer):
    """A product of the store's catalog. `stock` is read-only: it changes through adjust-stock,
    sales and refunds."""

    sku = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            UniqueValidator(Product.objects.all(), message="Product with this Sku already exists.")
        ],
    )
    barcode = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            UniqueValidator(
                Product.objects.all(), message="Product with this Barcode already exists."
            )
        ],
    )
    price = MoneyField(min_value=Decimal("0"))
    cost = MoneyField(min_value=Decimal("0"), required=False)
    tax_rate = PlainDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        required=False,
        help_text='A percentage: "20.00" is 20 %.',
    )
    reorder_level = PlainDecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="Stock falling to this or below emits `stock.low` (null: never).",
    )

    class Meta:
        model = Product
        fields = (
            "id",
            "name",
            "sku",
            "barcode",
            "category",
            "price",
            "cost",
            "tax_rate",
            "stock",
            "reorder_level",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("stock", "created_at", "updated_at")

    def validate_sku(self, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def validate_barcode(self, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class StockAdjustmentSerializer(serializers.Serializer):
    """A change of a product's stock made by hand: a signed quantity and its reason."""

    delta = PlainDecimalField(
        max_digits=12, decimal_places=3, help_text='Signed quantity, e.g. "-2" or "0.250".'
    )
    reason = serializers.ChoiceField(choices=StockMovement.MANUAL_REASONS)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def validate_delta(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("A stock change cannot be zero.")
        return value


class StockMovementSerializer(ModelSerializer):
    """`sale` or `refund` names what made the change; both are null for changes made by hand."""

    class Meta:
        model = StockMovement
        fields = (
            "id",
            "product",
            "delta",
            "reason",
            "note",
            "sale",
            "refund",
            "created_by",
            "created_at",
        )
        read_only_fields = fields


class StockAdjustmentResultSerializer(StockMovementSerializer):
    """The movement just written, with the product's stock after it."""

    stock = PlainDecimalField(
        source="product.stock", max_digits=12, decimal_places=3, read_only=True
    )

    class Meta(StockMovementSerializer.Meta):
        fields = (*StockMovementSerializer.Meta.fields, "stock")
        read_only_fields = fields


# --- Changes, for tills' copies of the catalog -----------------------------------------------


class ChangesQuerySerializer(serializers.Serializer):
    """Where to start: the `cursor` of the last answer (none: from the start)."""

    since = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The `cursor` of the previous answer; leave out for the whole catalog.",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, default=200, help_text="Changes per page."
    )


class DeletedSerializer(serializers.Serializer):
    """Ids deleted since the cursor: drop them from the copy."""

    products = serializers.ListField(child=serializers.IntegerField())
    categories = serializers.ListField(child=serializers.IntegerField())


class ChangesSerializer(serializers.Serializer):
    """What changed since the cursor, oldest first: products and categories as they are now
    (a row changed twice comes once, as it is now), and the ids deleted."""

    products = ProductSerializer(many=True)
    categories = CategorySerializer(many=True)
    deleted = DeletedSerializer()
    cursor = serializers.CharField(help_text="Opaque: send it as `since` next time.")
    has_more = serializers.BooleanField(help_text="More changes follow: ask again at once.")

"""factory_boy factories for a store's catalog; use them inside the store's schema context."""

from decimal import Decimal

import factory

from catalog import services
from catalog.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A product with stock 0. `ProductFactory(stock=Decimal("5"))` restocks it through
    `catalog.services.stock_adjust`, so the stock ledger stays true (movements sum to stock)."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n}")
    sku = None
    barcode = None
    price = Decimal("10.00")
    cost = Decimal("6.00")
    tax_rate = Decimal("20.00")

    @factory.post_generation
    def stock(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy's signature
        if create and extracted:
            services.stock_adjust(
                product=obj,
                delta=Decimal(extracted),
                reason="restock",
                user=kwargs.get("user"),
                note=kwargs.get("note", ""),
            )

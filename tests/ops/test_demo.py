"""`manage.py seed_demo`: demo stores seeded through the services, on real committed schemas."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.utils.timezone import now
from django_tenants.utils import tenant_context

from analytics.selectors import analytics_summary
from analytics.services import sales_date_range
from catalog.models import Product, StockMovement
from customers.models import Customer
from ops.demo import ean13_check_digit
from ops.demo.data import DEMO_EMAIL, DEMO_PASSWORD, DEMO_STORE_NAME
from sales.models import Refund, Sale, SaleLine, SalePayment, Shift
from stores.models import Membership, Store, User

STORES, PRODUCTS, SALES, DAYS = 2, 6, 15, 30
SMALL = ("--stores", str(STORES), "--products", str(PRODUCTS), "--sales", str(SALES))


def seed_demo(*args: str) -> str:
    output = io.StringIO()
    call_command("seed_demo", *args, stdout=output, no_color=True)
    return output.getvalue()


def demo_stores() -> list[Store]:
    return list(Store.objects.filter(name__startswith=DEMO_STORE_NAME).order_by("pk"))


def history(store: Store) -> dict[str, int]:
    with tenant_context(store):
        return {
            "products": Product.objects.count(),
            "movements": StockMovement.objects.count(),
            "customers": Customer.objects.count(),
            "sales": Sale.objects.count(),
            "refunds": Refund.objects.count(),
            "shifts": Shift.objects.count(),
        }


def catalog_names(store: Store) -> list[tuple]:
    """What --seed repeats: the catalog and the customers, in the order they were made."""
    with tenant_context(store):
        products = list(
            Product.objects.order_by("pk").values_list(
                "name", "sku", "barcode", "price", "cost", "tax_rate", "category__name"
            )
        )
        return products + list(Customer.objects.order_by("pk").values_list("name", "email"))


@pytest.fixture
def seeded(committed_stores: None) -> str:
    return seed_demo(*SMALL, "--seed", "7")


def test_seed_demo_makes_stores_with_an_owner_a_manager_and_a_cashier(seeded: str) -> None:
    # given the fixture's run; then
    stores = demo_stores()
    assert [store.name for store in stores] == ["Demo Store", "Demo Store 2"]
    assert [(store.currency, store.timezone) for store in stores] == [
        ("EUR", "Europe/Berlin"),
        ("GBP", "Europe/London"),
    ]
    for store, suffix in zip(stores, ("", "2"), strict=True):
        members = set(Membership.objects.filter(store=store).values_list("role", "user__email"))
        assert members == {
            ("owner", DEMO_EMAIL),
            ("manager", f"manager{suffix}@demo.kassa.local"),
            ("cashier", f"cashier{suffix}@demo.kassa.local"),
        }
        assert f"X-Tenant-Key: {store.tenant_key}" in seeded
    assert User.objects.get(email=DEMO_EMAIL).check_password(DEMO_PASSWORD)
    assert User.objects.get(email="cashier2@demo.kassa.local").check_password(DEMO_PASSWORD)
    assert f'{{"email": "{DEMO_EMAIL}", "password": "{DEMO_PASSWORD}"}}' in seeded
    assert "[##############################] 100%" in seeded
    assert "Seed 7: pass --seed 7" in seeded


def test_seed_demo_stocks_every_product_through_the_ledger(seeded: str) -> None:
    for store in demo_stores():
        with tenant_context(store):
            products = list(Product.objects.annotate(ledger=Sum("movements__delta")))
            assert len(products) == PRODUCTS
            assert len({product.name for product in products}) == PRODUCTS
            for product in products:
                assert product.stock == product.ledger
                assert product.stock >= 0
                assert product.price > 0
                assert len(product.barcode) == 13
                assert product.barcode.isdigit()
                assert int(product.barcode[-1]) == ean13_check_digit(product.barcode[:12])
            # Every product starts with a delivery, before its first sale.
            # (Newest first: each product's earliest movement is the one left in the dict.)
            first_moves = dict(
                StockMovement.objects.order_by("-created_at", "-pk").values_list(
                    "product_id", "reason"
                )
            )
            assert set(first_moves.values()) == {StockMovement.Reason.RESTOCK}


def test_seed_demo_restocks_before_a_sale_would_take_stock_below_zero(
    committed_stores: None,
) -> None:
    # when two products sell a hundred times
    seed_demo("--stores", "1", "--products", "2", "--sales", "100", "--seed", "3")

    # then deliveries came in time: no product's stock is ever negative, moment by moment
    (store,) = demo_stores()
    with tenant_context(store):
        deliveries = StockMovement.objects.filter(reason=StockMovement.Reason.RESTOCK).count()
        assert deliveries > 2
        balances: dict[int, Decimal] = {}
        for product_id, delta in StockMovement.objects.order_by("created_at", "pk").values_list(
            "product_id", "delta"
        ):
            balances[product_id] = balances.get(product_id, Decimal(0)) + delta
            assert balances[product_id] >= 0
        assert balances == dict(Product.objects.values_list("pk", "stock"))


def test_seed_demo_rings_up_the_sales_in_closed_shifts_over_the_last_days(seeded: str) -> None:
    for store in demo_stores():
        with tenant_context(store):
            sales = list(Sale.objects.select_related("shift").order_by("number"))
            lines = dict(
                SaleLine.objects.values_list("sale")
                .annotate(count=Count("pk"))
                .values_list("sale", "count")
            )
            paid = dict(
                SalePayment.objects.values_list("sale")
                .annotate(paid=Sum("amount"))
                .values_list("sale", "paid")
            )
            assert [sale.number for sale in sales] == list(range(1, SALES + 1))
            assert len({sale.created_at.date() for sale in sales}) > 1
            for sale in sales:
                assert 1 <= lines[sale.pk] <= 4
                assert paid[sale.pk] == sale.paid_total == sale.total + sale.change_due
                assert now() - timedelta(days=DAYS + 1) < sale.created_at < now()
                assert sale.shift.opened_at <= sale.created_at <= sale.shift.closed_at
            # The history is in order: sale numbers follow the clock.
            assert [sale.created_at for sale in sales] == sorted(sale.created_at for sale in sales)
            assert set(Shift.objects.values_list("status", flat=True)) == {Shift.Status.CLOSED}
            sold_at = {sale.pk: sale.created_at for sale in sales}
            for sale_id, moved_at in StockMovement.objects.filter(sale__isnull=False).values_list(
                "sale_id", "created_at"
            ):
                assert moved_at == sold_at[sale_id]
            for refund in Refund.objects.select_related("sale"):
                assert refund.sale.created_at < refund.created_at < now()


def test_seed_demo_leaves_the_analytics_summary_ready(seeded: str) -> None:
    for store in demo_stores():
        with tenant_context(store):
            first, last = sales_date_range()
            summary = analytics_summary(store=store, first=first, last=last)
            assert summary["sales_count"] == SALES
            assert summary["revenue"] == Sale.objects.aggregate(total=Sum("total"))["total"]
            assert (
                summary["refunds"]
                == Refund.objects.aggregate(total=Sum("total", default=Decimal("0.00")))["total"]
            )
            # Stamped in the store's opening hours, on its own clock.
            busy_hours = {row["hour"] for row in summary["by_hour"] if row["sales_count"]}
            assert busy_hours <= set(range(8, 20))


def test_seed_demo_with_the_same_seed_makes_the_same_names(committed_stores: None) -> None:
    # given a demo store made with seed 7, renamed so that the next run makes a new one
    seed_demo("--stores", "1", "--products", "8", "--sales", "5", "--seed", "7")
    first = Store.objects.get(name=DEMO_STORE_NAME)
    Store.objects.filter(pk=first.pk).update(name="Earlier demo")

    # when the same seed runs again, and then another seed
    seed_demo("--stores", "1", "--products", "8", "--sales", "5", "--seed", "7")
    second = Store.objects.get(name=DEMO_STORE_NAME)
    Store.objects.filter(pk=second.pk).update(name="Second demo")
    seed_demo("--stores", "1", "--products", "8", "--sales", "5", "--seed", "8")
    third = Store.objects.get(name=DEMO_STORE_NAME)

    # then
    assert catalog_names(second) == catalog_names(first)
    assert catalog_names(third) != catalog_names(first)


def test_seed_demo_reuses_the_demo_store_and_leaves_its_data_as_is(
    committed_stores: None,
) -> None:
    # given
    seed_demo("--stores", "1", "--products", "3", "--sales", "4", "--seed", "1")
    (store,) = demo_stores()
    before = history(store)

    # when
    output = seed_demo("--stores", "1", "--products", "9", "--sales", "9")

    # then
    assert demo_stores() == [store]
    assert history(store) == before
    assert "The demo store 'Demo Store' exists already" in output
    assert f'"email": "{DEMO_EMAIL}"' in output
    assert f"X-Tenant-Key: {store.tenant_key}" in output


def test_seed_demo_reuses_a_store_that_demo_store_made(committed_stores: None) -> None:
    # given the store `make run` used to make
    call_command("demo_store", stdout=io.StringIO())
    (store,) = demo_stores()

    # when
    output = seed_demo("--stores", "1", "--products", "5", "--sales", "5")

    # then
    assert demo_stores() == [store]
    assert history(store)["sales"] == 0
    assert f"X-Tenant-Key: {store.tenant_key}" in output


@pytest.mark.parametrize(
    "args",
    [
        ("--stores", "0", "--products", "1", "--sales", "1"),
        ("--stores", "1", "--products", "0", "--sales", "1"),
        ("--stores", "1", "--products", "1", "--sales", "-1"),
        ("--stores", "1", "--products", "1", "--sales", "1", "--days", "0"),
    ],
)
def test_seed_demo_refuses_counts_out_of_range(db: None, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="must be at least"):
        seed_demo(*args)
    assert demo_stores() == []

"""The checkout's money, to the currency's unit: a table of known cases and properties of random
sales, in a currency of 0 places (JPY), of 2 (EUR) and of 3 (KWD)."""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Product, StockMovement
from sales.models import Sale, SaleLine, SalePayment
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open
from tests.catalog.factories import ProductFactory
from tests.conftest import StoreWithStaff

SALE_FIGURES = ("subtotal", "discount_total", "tax_total", "total", "paid_total", "change_due")


CURRENCIES = {"JPY": 0, "EUR": 2, "KWD": 3}  # and their minor-unit places


def half_up(value: Fraction, places: int = 2) -> Decimal:
    """An exact non-negative amount rounded half-up to `places`: the oracle, apart from Decimal."""
    units = value * 10**places
    whole = units.numerator // units.denominator
    if units - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole).scaleb(-places)


def ring_up(
    staffed: StoreWithStaff,
    *,
    currency: str = "EUR",
    prices_include_tax: bool,
    products: list[dict],
    lines: list[dict],
    payments: list[tuple[str, str]],
) -> Sale:
    """In the store: set the tax setting, open a shift, make the products, check out as owner.

    `lines` refer to `products` by index.
    """
    store = staffed.store
    store.currency = currency
    store.prices_include_tax = prices_include_tax
    store.save()
    shift_open(register_id=staffed.register.pk, opening_cash=Decimal("100"), user=staffed.owner)
    made = [ProductFactory(**spec) for spec in products]
    return sale_checkout(
        user=staffed.owner,
        role="owner",
        register_id=staffed.register.pk,
        lines=[
            LineInput(
                product_id=made[line["product"]].pk,
                quantity=Decimal(line["quantity"]),
                discount=Decimal(line.get("discount", "0.00")),
            )
            for line in lines
        ],
        payments=[
            PaymentInput(method=method, amount=Decimal(amount)) for method, amount in payments
        ],
    )


# --- The table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    prices_include_tax: bool
    products: list[dict]
    lines: list[dict]
    payments: list[tuple[str, str]]
    line_figures: list[tuple[str, str]]  # each line's (total, tax_amount)
    sale_figures: tuple[str, ...]  # subtotal, discount_total, tax_total, total, paid, change
    currency: str = "EUR"


def product(price: str, tax_rate: str) -> dict:
    return {"price": Decimal(price), "tax_rate": Decimal(tax_rate), "stock": "100"}


CASES = {
    # 2 × 9.99 = 19.98; 19.98 × 20/120 = 3.33
    "2 x 9.99 at 20% inclusive": Case(
        True,
        [product("9.99", "20")],
        [{"product": 0, "quantity": "2"}],
        [("cash", "20.00")],
        [("19.98", "3.33")],
        ("19.98", "0.00", "3.33", "19.98", "20.00", "0.02"),
    ),
    # 19.98 × 0.2 = 3.996 → 4.00 on top: 23.98; card and other within it, cash over it
    "2 x 9.99 at 20% exclusive": Case(
        False,
        [product("9.99", "20")],
        [{"product": 0, "quantity": "2"}],
        [("card", "10.00"), ("other", "3.98"), ("cash", "20.00")],
        [("19.98", "4.00")],
        ("19.98", "0.00", "4.00", "23.98", "33.98", "10.00"),
    ),
    # 0.250 × 12.99 = 3.2475 → 3.25; 3.25 × 20/120 = 0.5416… → 0.54
    "0.250 x 12.99 inclusive": Case(
        True,
        [product("12.99", "20")],
        [{"product": 0, "quantity": "0.250"}],
        [("card", "3.25")],
        [("3.25", "0.54")],
        ("3.25", "0.00", "0.54", "3.25", "3.25", "0.00"),
    ),
    # 3.25 × 0.2 = 0.65 → 3.90
    "0.250 x 12.99 exclusive": Case(
        False,
        [product("12.99", "20")],
        [{"product": 0, "quantity": "0.250"}],
        [("card", "3.90")],
        [("3.25", "0.65")],
        ("3.25", "0.00", "0.65", "3.90", "3.90", "0.00"),
    ),
    # 0.335 × 3.00 = 1.005 → 1.01, − 0.05 = 0.96; 0.96 × 7/107 = 0.0628… → 0.06
    "0.335 x 3.00 at 7% less 0.05 inclusive": Case(
        True,
        [product("3.00", "7")],
        [{"product": 0, "quantity": "0.335", "discount": "0.05"}],
        [("cash", "1.00")],
        [("0.96", "0.06")],
        ("1.01", "0.05", "0.06", "0.96", "1.00", "0.04"),
    ),
    # 0.96 × 0.07 = 0.0672 → 0.07: 1.03
    "0.335 x 3.00 at 7% less 0.05 exclusive": Case(
        False,
        [product("3.00", "7")],
        [{"product": 0, "quantity": "0.335", "discount": "0.05"}],
        [("cash", "1.05")],
        [("0.96", "0.07")],
        ("1.01", "0.05", "0.07", "1.03", "1.05", "0.02"),
    ),
    "0% tax inclusive": Case(
        True,
        [product("5.00", "0")],
        [{"product": 0, "quantity": "1.5"}],
        [("other", "7.50")],
        [("7.50", "0.00")],
        ("7.50", "0.00", "0.00", "7.50", "7.50", "0.00"),
    ),
    "0% tax exclusive": Case(
        False,
        [product("5.00", "0")],
        [{"product": 0, "quantity": "1.5"}],
        [("other", "7.50")],
        [("7.50", "0.00")],
        ("7.50", "0.00", "0.00", "7.50", "7.50", "0.00"),
    ),
    # 10.05 × 0.1 = 1.005 → 1.01 half-up (1.00 half-even)
    "tax at exactly .005 exclusive": Case(
        False,
        [product("10.05", "10")],
        [{"product": 0, "quantity": "1"}],
        [("card", "11.06")],
        [("10.05", "1.01")],
        ("10.05", "0.00", "1.01", "11.06", "11.06", "0.00"),
    ),
    # 0.63 × 20/120 = 0.105 → 0.11 half-up (0.10 half-even)
    "tax at exactly .005 inclusive": Case(
        True,
        [product("0.63", "20")],
        [{"product": 0, "quantity": "1"}],
        [("cash", "1.00")],
        [("0.63", "0.11")],
        ("0.63", "0.00", "0.11", "0.63", "1.00", "0.37"),
    ),
    # each 0.05 × 0.1 = 0.005 → 0.01; the tax of the sum would be 0.015 → 0.02
    "tax rounded per line exclusive": Case(
        False,
        [product("0.05", "10"), product("0.05", "10"), product("0.05", "10")],
        [
            {"product": 0, "quantity": "1"},
            {"product": 1, "quantity": "1"},
            {"product": 2, "quantity": "1"},
        ],
        [("cash", "0.20")],
        [("0.05", "0.01"), ("0.05", "0.01"), ("0.05", "0.01")],
        ("0.15", "0.00", "0.03", "0.18", "0.20", "0.02"),
    ),
    # each 0.63 × 20/120 = 0.105 → 0.11; the tax of the sum would be 1.89/6 = 0.315 → 0.32
    "tax rounded per line inclusive": Case(
        True,
        [product("0.63", "20"), product("0.63", "20"), product("0.63", "20")],
        [
            {"product": 0, "quantity": "1"},
            {"product": 1, "quantity": "1"},
            {"product": 2, "quantity": "1"},
        ],
        [("card", "1.89")],
        [("0.63", "0.11"), ("0.63", "0.11"), ("0.63", "0.11")],
        ("1.89", "0.00", "0.33", "1.89", "1.89", "0.00"),
    ),
    # a line discounted to nothing; one product on two lines: 2.00 × 10/110 = 0.18…,
    # 0.5 × 2.00 − 0.01 = 0.99 and 0.99 × 10/110 = 0.09
    "a line discounted to zero": Case(
        True,
        [product("1.50", "20"), product("2.00", "10")],
        [
            {"product": 0, "quantity": "2", "discount": "3.00"},
            {"product": 1, "quantity": "1"},
            {"product": 1, "quantity": "0.5", "discount": "0.01"},
        ],
        [("cash", "5.00")],
        [("0.00", "0.00"), ("2.00", "0.18"), ("0.99", "0.09")],
        ("6.00", "3.01", "0.27", "2.99", "5.00", "2.01"),
    ),
    # Yen have no minor unit: 3 × 105 = 315; 315 × 0.08 = 25.2 → 25 on top
    "3 x 105 JPY at 8% exclusive": Case(
        False,
        [product("105", "8")],
        [{"product": 0, "quantity": "3"}],
        [("cash", "500")],
        [("315", "25")],
        ("315", "0", "25", "340", "500", "160"),
        currency="JPY",
    ),
    # 0.250 × 998 = 249.5 → 250 (half-up to the yen); 250 × 10/110 = 22.72… → 23
    "0.250 x 998 JPY at 10% inclusive": Case(
        True,
        [product("998", "10")],
        [{"product": 0, "quantity": "0.250"}],
        [("card", "250")],
        [("250", "23")],
        ("250", "0", "23", "250", "250", "0"),
        currency="JPY",
    ),
    # 1000 − 50 off = 950; 950 × 8/108 = 70.37… → 70
    "a yen discount": Case(
        True,
        [product("1000", "8")],
        [{"product": 0, "quantity": "1", "discount": "50"}],
        [("cash", "1000")],
        [("950", "70")],
        ("1000", "50", "70", "950", "1000", "50"),
        currency="JPY",
    ),
    # Dinars have three places: 2 × 1.255 = 2.510; × 0.05 = 0.1255 → 0.126 on top
    "2 x 1.255 KWD at 5% exclusive": Case(
        False,
        [product("1.255", "5")],
        [{"product": 0, "quantity": "2"}],
        [("card", "2.636")],
        [("2.510", "0.126")],
        ("2.510", "0.000", "0.126", "2.636", "2.636", "0.000"),
        currency="KWD",
    ),
    # 0.333 × 2.500 = 0.8325 → 0.833; 0.833 × 15/115 = 0.10865… → 0.109; change in fils
    "0.333 x 2.500 KWD at 15% inclusive": Case(
        True,
        [product("2.500", "15")],
        [{"product": 0, "quantity": "0.333"}],
        [("cash", "1.000")],
        [("0.833", "0.109")],
        ("0.833", "0.000", "0.109", "0.833", "1.000", "0.167"),
        currency="KWD",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_checkout_money_to_the_currencys_unit(store_a, case):
    # given the store's tax setting, an open shift and the products
    with tenant_context(store_a.store):
        # when
        sale = ring_up(
            store_a,
            currency=case.currency,
            prices_include_tax=case.prices_include_tax,
            products=case.products,
            lines=case.lines,
            payments=case.payments,
        )

        # then the answer and the rows written agree with the case
        stored = Sale.objects.get(pk=sale.pk)
        stored_lines = list(
            SaleLine.objects.filter(sale=sale).order_by("id").values_list("total", "tax_amount")
        )
        stored_payments = list(
            SalePayment.objects.filter(sale=sale).order_by("id").values_list("method", "amount")
        )

    expected_lines = [(Decimal(total), Decimal(tax)) for total, tax in case.line_figures]
    expected_figures = tuple(Decimal(value) for value in case.sale_figures)
    assert [(line.total, line.tax_amount) for line in sale.lines.all()] == expected_lines
    assert stored_lines == expected_lines
    assert tuple(getattr(sale, field) for field in SALE_FIGURES) == expected_figures
    assert tuple(getattr(stored, field) for field in SALE_FIGURES) == expected_figures
    assert stored.prices_include_tax is case.prices_include_tax
    assert stored_payments == [(method, Decimal(amount)) for method, amount in case.payments]
    assert stored.number == 1


# --- Properties -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomSale:
    prices_include_tax: bool
    products: list[tuple[Decimal, Decimal, Decimal]]  # price, tax rate, stock to spare
    lines: list[tuple[int, Decimal, Decimal]]  # product index, quantity, discount
    card_percent: int
    extra_cash: Decimal


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda value: Decimal(value) / 100)


def units(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Amounts of `low`..`high` minor units of a currency with `places`."""
    return st.integers(low, high).map(lambda value: Decimal(value).scaleb(-places))


@st.composite
def random_sales(draw: st.DrawFn, places: int) -> RandomSale:
    products = draw(
        st.lists(
            st.tuples(
                units(1, 10**places * 999, places),  # price: one minor unit to 999
                cents(0, 2500),  # tax rate 0–25 %
                st.integers(0, 10000).map(lambda value: Decimal(value) / 1000),
            ),
            min_size=1,
            max_size=5,
        )
    )
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        index = draw(st.integers(0, len(products) - 1))
        quantity = Decimal(draw(st.integers(1, 50000))) / 1000  # 0.001–50
        gross = half_up(Fraction(quantity) * Fraction(products[index][0]), places)
        discount = draw(units(0, int(gross.scaleb(places)), places))
        lines.append((index, quantity, discount))
    return RandomSale(
        prices_include_tax=draw(st.booleans()),
        products=products,
        lines=lines,
        card_percent=draw(st.integers(0, 100)),
        extra_cash=draw(units(0, 100 * 10**places, places)),
    )


def expected_line(price: Decimal, rate: Decimal, quantity: Decimal, discount: Decimal, *,
                  prices_include_tax: bool, places: int) -> tuple[Decimal, Decimal]:  # fmt: skip
    """A line's (total, tax_amount), exactly, then rounded half-up to the currency's unit."""
    total = half_up(Fraction(quantity) * Fraction(price), places) - discount
    divisor = 100 + Fraction(rate) if prices_include_tax else Fraction(100)
    return total, half_up(Fraction(total) * Fraction(rate) / divisor, places)


@st.composite
def currency_and_sale(draw: st.DrawFn) -> tuple[str, RandomSale]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    return currency, draw(random_sales(CURRENCIES[currency]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=currency_and_sale())
def test_checkout_money_properties(store_a, drawn):
    currency, sale = drawn
    places = CURRENCIES[currency]
    with transaction.atomic(), tenant_context(store_a.store):
        # given the products, each with what its lines take plus some to spare
        store = store_a.store
        store.currency = currency
        store.prices_include_tax = sale.prices_include_tax
        store.save()
        shift_open(register_id=store_a.register.pk, opening_cash=Decimal("0"), user=store_a.owner)
        taken = [Decimal(0)] * len(sale.products)
        for index, quantity, _ in sale.lines:
            taken[index] += quantity
        made = [
            ProductFactory(price=price, tax_rate=rate, stock=taken[index] + spare)
            if taken[index] + spare
            else ProductFactory(price=price, tax_rate=rate)
            for index, (price, rate, spare) in enumerate(sale.products)
        ]
        stock_before = [product.stock for product in made]
        # and payments of the expected total: some by card, the rest in cash, plus extra cash
        expected = [
            expected_line(
                sale.products[index][0],
                sale.products[index][1],
                quantity,
                discount,
                prices_include_tax=sale.prices_include_tax,
                places=places,
            )
            for index, quantity, discount in sale.lines
        ]
        expected_total = sum(total for total, _ in expected) + (
            Decimal(0) if sale.prices_include_tax else sum(tax for _, tax in expected)
        )
        card = half_up(Fraction(expected_total) * sale.card_percent / 100, places)
        cash = expected_total - card + sale.extra_cash
        payments = [
            PaymentInput(method=method, amount=amount)
            for method, amount in (("card", card), ("cash", cash))
            if amount > 0
        ]

        # when
        checked_out = sale_checkout(
            user=store_a.owner,
            role="owner",
            register_id=store_a.register.pk,
            lines=[
                LineInput(product_id=made[index].pk, quantity=quantity, discount=discount)
                for index, quantity, discount in sale.lines
            ],
            payments=payments,
        )

        # then the stored sale adds up
        stored = Sale.objects.get(pk=checked_out.pk)
        lines = list(SaleLine.objects.filter(sale=stored).order_by("id"))
        line_totals = sum((line.total for line in lines), Decimal(0))
        line_taxes = sum((line.tax_amount for line in lines), Decimal(0))
        assert stored.total == line_totals + (0 if sale.prices_include_tax else line_taxes)
        assert stored.tax_total == line_taxes
        assert stored.discount_total == sum(discount for _, _, discount in sale.lines)
        for line, (index, quantity, discount), (total, tax) in zip(
            lines, sale.lines, expected, strict=True
        ):
            assert (line.product_id, line.quantity, line.discount) == (
                made[index].pk,
                quantity,
                discount,
            )
            assert (line.total, line.tax_amount) == (total, tax)
        assert stored.total == expected_total
        # every amount is a whole number of the currency's minor units
        for amount in [*(getattr(stored, field) for field in SALE_FIGURES), line_taxes]:
            assert amount == amount.quantize(Decimal(1).scaleb(-places))
        assert stored.paid_total - stored.change_due == stored.total
        assert stored.change_due == sale.extra_cash
        assert stored.change_due >= 0
        assert stored.number == 1
        assert [getattr(checked_out, field) for field in SALE_FIGURES] == [
            getattr(stored, field) for field in SALE_FIGURES
        ]
        # and stock went down by exactly the quantities, one movement per line
        stock_after = dict(
            Product.objects.filter(pk__in=[product.pk for product in made]).values_list(
                "id", "stock"
            )
        )
        assert [stock_after[product.pk] for product in made] == [
            before - taken[index] for index, before in enumerate(stock_before)
        ]
        assert list(
            StockMovement.objects.filter(sale=stored)
            .order_by("id")
            .values_list("product_id", "delta")
        ) == [(made[index].pk, -quantity) for index, quantity, _ in sale.lines]

        # each example leaves nothing behind for the next
        transaction.set_rollback(True)

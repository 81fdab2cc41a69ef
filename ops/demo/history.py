"""One demo store's history, day by day, through the real services; then backdated."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max, OuterRef, Subquery
from django.utils.timezone import now
from django_tenants.utils import tenant_context

from analytics.services import analytics_rebuild
from catalog.models import Category, Product, StockMovement
from catalog.services import stock_adjust
from core.money import ZERO, quantize_money
from customers.models import Customer
from ops.demo.data import DEMO_PASSWORD, REFUND_REASONS, StoreProfile, demo_staff_email
from ops.demo.setup import (
    HUNDRED,
    demo_catalog_create,
    demo_customers_create,
    is_weighed,
    person_name,
)
from ops.demo.stamps import Stamps
from sales.models import PaymentMethod, Register, Sale, SaleLine, Shift
from sales.services import (
    LineInput,
    PaymentInput,
    RefundLineInput,
    sale_checkout,
    sale_refund,
    shift_close,
    shift_open,
)
from stores.clock import local_today
from stores.models import Membership, Store, User
from stores.services import membership_create, user_create

OPENING, CLOSING = time(8, 0), time(20, 0)
SHIFT_OPENS, SHIFT_CLOSES = time(7, 45), time(20, 20)
# Busy at lunch and after work, quiet on Sundays: the analytics charts get a shape.
HOUR_WEIGHTS = (4, 6, 7, 9, 12, 11, 7, 7, 9, 12, 11, 6)  # 08:00 … 19:00
WEEKDAY_WEIGHTS = (0.9, 0.9, 1.0, 1.05, 1.25, 1.4, 0.5)  # Monday … Sunday

# Progress of one store: units done (products made, sales rung up, the rebuild), what is going on.
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class SeededStore:
    """One demo store, made now (with what was made) or found from an earlier run."""

    store: Store
    is_new: bool
    products: int = 0
    customers: int = 0
    sales: int = 0
    refunds: int = 0
    restocks: int = 0


@dataclass(frozen=True)
class _Event:
    moment: datetime
    sale_index: int  # the sale made, or the sale refunded
    is_refund: bool


class StoreHistory:
    """The history of one new store, day by day, through the services in its schema."""

    def __init__(
        self,
        *,
        store: Store,
        profile: StoreProfile,
        rng: random.Random,
        index: int,
        progress: Progress,
    ) -> None:
        self.store, self.profile, self.rng, self.index = store, profile, rng, index
        self.progress = progress
        self.zone = ZoneInfo(store.timezone)
        self.currency = store.currency
        # Nothing is stamped in the future, nor so close to now that a clock skew would show.
        self.cutoff = now() - timedelta(minutes=5)
        self.products: list[Product] = []
        self.popularity: list[float] = []
        self.par: dict[int, Decimal] = {}  # the stock a delivery fills a product up to
        self.level: dict[int, Decimal] = {}  # the stock as the ledger has it
        self.customer_ids: list[int] = []
        self.sales: dict[int, Sale] = {}
        self.refunds = self.restocks = 0

    def seed(self, *, products: int, sales: int, days: int) -> SeededStore:
        self.manager = self._staff(Membership.Role.MANAGER)
        self.cashier = self._staff(Membership.Role.CASHIER)
        with tenant_context(self.store):
            trading_days = self._trading_days(days)
            opened = datetime.combine(trading_days[0] - timedelta(days=1), time(17), self.zone)
            stamps = Stamps()
            # Names first: what --seed repeats does not depend on today's clock.
            profile, rng = self.profile, self.rng
            self.products = demo_catalog_create(rng=rng, profile=profile, count=products)
            self.by_id = {product.pk: product for product in self.products}
            customers = demo_customers_create(
                rng=rng, profile=profile, count=max(3, min(60, sales // 8))
            )
            self.customer_ids = [customer.pk for customer in customers]
            self._stock_up(opened=opened, stamps=stamps)
            stamps.write()
            self._backdate_setup(opened)
            self.register_id = Register.objects.filter(is_active=True).order_by("pk").first().pk
            events = self._plan(sales=sales, trading_days=trading_days)
            for day in sorted({event.moment.date() for event in events}):
                self._trade(day, [event for event in events if event.moment.date() == day])
            # Checkouts stamp `last_purchase_at` with now(); the history says otherwise.
            Customer.objects.update(
                last_purchase_at=Subquery(
                    Sale.objects.filter(customer=OuterRef("pk"))
                    .values("customer")
                    .annotate(last=Max("created_at"))
                    .values("last")
                )
            )
            self.progress(products + sales, f"{self.store.name}: analytics")
            analytics_rebuild()
        self.progress(products + sales + 1, f"{self.store.name}: done")
        return SeededStore(
            store=self.store,
            is_new=True,
            products=len(self.products),
            customers=len(self.customer_ids),
            sales=len(self.sales),
            refunds=self.refunds,
            restocks=self.restocks,
        )

    # --- setting up --------------------------------------------------------------------------

    def _staff(self, role: str) -> User:
        """The store's demo manager or cashier: their account (made once), now a member."""
        first, last = person_name(self.rng)
        email = demo_staff_email(role=role, index=self.index)
        user = User.objects.filter(email=email).first() or user_create(
            email=email, password=DEMO_PASSWORD, full_name=f"{first} {last}"
        )
        return membership_create(store=self.store, user=user, role=role).user

    def _trading_days(self, days: int) -> list[date]:
        today = local_today(self.store)
        # Today counts once the store has been open an hour, so it has room for its sales.
        is_open = datetime.combine(today, OPENING, self.zone) + timedelta(hours=1) <= self.cutoff
        last = today if is_open else today - timedelta(days=1)
        return [last - timedelta(days=offset) for offset in reversed(range(days))]

    def _stock_up(self, *, opened: datetime, stamps: Stamps) -> None:
        """Each product's par level and popularity, and its opening stock delivered."""
        for number, product in enumerate(self.products, start=1):
            # A few best sellers and a long tail, as real sales have.
            self.popularity.append(self.rng.lognormvariate(0, 0.8))
            choices = (15, 20, 25, 30) if is_weighed(product) else (24, 36, 48, 72)
            self.par[product.pk] = Decimal(self.rng.choice(choices))
            self.level[product.pk] = ZERO
            self._restock(product, needed=ZERO, at=opened, stamps=stamps, note="Opening stock")
            self.progress(number, f"{self.store.name}: products")

    def _backdate_setup(self, opened: datetime) -> None:
        """The store, its people, register, catalog and customers date from the day before."""
        for model in (Category, Product, Customer, Register):
            model.objects.update(created_at=opened)
        Membership.objects.filter(store=self.store).update(created_at=opened)
        Store.objects.filter(pk=self.store.pk).update(created_at=opened)
        self.store.forget_cached()  # the registry may hold the row as it was

    # --- planning ----------------------------------------------------------------------------

    def _moment(self, day: date, after: datetime | None = None) -> datetime | None:
        """A time in the day's opening hours (after `after`), busy hours likelier; None if none."""
        start = datetime.combine(day, OPENING, self.zone)
        end = min(datetime.combine(day, CLOSING, self.zone), self.cutoff)
        if after is not None:
            start = max(start, after + timedelta(minutes=10))
        if end <= start:
            return None
        opening = datetime.combine(day, OPENING, self.zone)
        hours = [
            (hour, weight)
            for offset, weight in enumerate(HOUR_WEIGHTS)
            if (hour := opening + timedelta(hours=offset)) < end
            and hour + timedelta(hours=1) > start
        ]
        (hour_start,) = self.rng.choices(
            [hour for hour, _ in hours], [weight for _, weight in hours]
        )
        begin = max(hour_start, start)
        span = int((min(hour_start + timedelta(hours=1), end) - begin).total_seconds())
        return begin + timedelta(seconds=self.rng.randrange(max(span, 1)))

    def _plan(self, *, sales: int, trading_days: list[date]) -> list[_Event]:
        """When each sale happens, and the few that come back later as refunds."""
        weights = [WEEKDAY_WEIGHTS[day.weekday()] for day in trading_days]
        days = sorted(self.rng.choices(trading_days, weights, k=sales))
        moments = sorted(self._moment(day) for day in days)
        events = [_Event(moment, index, is_refund=False) for index, moment in enumerate(moments)]
        refunds = max(1, round(sales * 0.03)) if sales >= 10 else 0
        for index in sorted(self.rng.sample(range(sales), refunds)):
            # Back the same day, or within a few days while the range lasts.
            later = moments[index].date() + timedelta(days=self.rng.choice((0, 0, 1, 2, 3)))
            if later in trading_days:
                moment = self._moment(later, after=moments[index])
                if moment is not None:
                    events.append(_Event(moment, index, is_refund=True))
        return sorted(events, key=lambda event: (event.moment, event.is_refund))

    # --- trading -----------------------------------------------------------------------------

    def _trade(self, day: date, events: list[_Event]) -> None:
        """One day: deliveries, a shift opened, its sales and refunds, the shift closed."""
        opens_at = datetime.combine(day, SHIFT_OPENS, self.zone)
        closes_at = min(datetime.combine(day, SHIFT_CLOSES, self.zone), now())
        stamps = Stamps()
        for product in self.products:  # the morning delivery tops up what runs low
            if self.level[product.pk] < self.par[product.pk] / 4:
                at = opens_at - timedelta(minutes=15)
                self._restock(product, needed=ZERO, at=at, stamps=stamps)
        float_cash = Decimal(self.profile.float_cash)
        shift = shift_open(register_id=self.register_id, opening_cash=float_cash, user=self.cashier)
        drawer = float_cash
        for event in events:
            if event.is_refund:
                drawer -= self._refund(event, stamps)
            else:
                drawer += self._sell(event, stamps)
        # Most evenings the drawer is right; now and then a coin or two is off.
        counted = drawer
        if self.rng.random() < 0.15:
            counted += Decimal(self.rng.choice(("-2", "-1", "-0.50", "0.50", "1")))
        shift_close(shift=shift, counted_cash=counted, user=self.cashier)
        Shift.objects.filter(pk=shift.pk).update(opened_at=opens_at, closed_at=closes_at)
        stamps.write()

    def _restock(
        self, product: Product, *, needed: Decimal, at: datetime, stamps: Stamps, note: str = ""
    ) -> None:
        """A delivery filling the product up to its par level (and at least `needed`)."""
        level = self.level[product.pk]
        delta = max(self.par[product.pk], needed) - level
        movement = stock_adjust(
            product=product,
            delta=delta,
            reason=StockMovement.Reason.RESTOCK,
            user=self.manager,
            note=note or "Delivery",
        )
        self.level[product.pk] = level + delta
        stamps.restocks[movement.pk] = at
        self.restocks += 1

    def _lines(self) -> list[LineInput]:
        count = min(self.rng.choices((1, 2, 3, 4), (45, 30, 15, 10))[0], len(self.products))
        chosen: list[Product] = []
        while len(chosen) < count:
            (product,) = self.rng.choices(self.products, self.popularity)
            if product not in chosen:
                chosen.append(product)
        lines = []
        for product in chosen:
            if is_weighed(product):
                quantity = Decimal(self.rng.randint(250, 1500)).scaleb(-3)
            else:
                quantity = Decimal(self.rng.choices((1, 2, 3, 4, 6), (70, 17, 7, 4, 2))[0])
            discount = ZERO
            if self.rng.random() < 0.07:  # a loyalty or best-before discount
                gross = quantize_money(quantity * product.price, self.currency)
                discount = quantize_money(
                    gross * self.rng.choice((5, 10, 15, 20)) / HUNDRED, self.currency
                )
                discount = discount if discount < gross else ZERO
            lines.append(LineInput(product_id=product.pk, quantity=quantity, discount=discount))
        return lines

    def _total(self, lines: list[LineInput]) -> Decimal:
        """What the checkout will charge: its own rounding, line by line, so payments match."""
        include = self.store.prices_include_tax
        total = tax = ZERO
        for line in lines:
            product = self.by_id[line.product_id]
            amount = quantize_money(line.quantity * product.price, self.currency) - line.discount
            divisor = HUNDRED + product.tax_rate if include else HUNDRED
            tax += quantize_money(amount * product.tax_rate / divisor, self.currency)
            total += amount
        return total if include else total + tax

    def _tendered(self, amount: Decimal) -> Decimal:
        """Cash handed over: the exact sum, or rounded up to a coin or to the next banknote."""
        if self.rng.random() < 0.3:
            return amount
        candidates = sorted(
            {
                (amount / note).to_integral_value(ROUND_CEILING) * note
                for note in (Decimal(1), *map(Decimal, self.profile.notes))
            }
        )
        return quantize_money(self.rng.choice(candidates[:3]), self.currency)

    def _payments(self, total: Decimal) -> list[PaymentInput]:
        roll = self.rng.random()
        if roll < 0.42:
            return [PaymentInput(method=PaymentMethod.CARD, amount=total)]
        if roll < 0.47:  # vouchers, mobile wallets
            return [PaymentInput(method=PaymentMethod.OTHER, amount=total)]
        if roll < 0.52 and total >= 2:  # part on a card, the rest in cash
            card = quantize_money(total * self.rng.randint(30, 70) / HUNDRED, self.currency)
            return [
                PaymentInput(method=PaymentMethod.CARD, amount=card),
                PaymentInput(method=PaymentMethod.CASH, amount=self._tendered(total - card)),
            ]
        return [PaymentInput(method=PaymentMethod.CASH, amount=self._tendered(total))]

    def _sell(self, event: _Event, stamps: Stamps) -> Decimal:
        """Ring up a sale; returns the cash it leaves in the drawer."""
        lines = self._lines()
        for line in lines:  # a delivery just in time, rather than a refused sale
            if self.level[line.product_id] < line.quantity:
                self._restock(
                    self.by_id[line.product_id],
                    needed=line.quantity,
                    at=event.moment - timedelta(minutes=3),
                    stamps=stamps,
                )
        payments = self._payments(self._total(lines))
        is_manager = self.rng.random() < 0.2
        customer_id = None
        if self.customer_ids and self.rng.random() < 0.3:
            customer_id = self.rng.choice(self.customer_ids)
        sale = sale_checkout(
            user=self.manager if is_manager else self.cashier,
            role=Membership.Role.MANAGER if is_manager else Membership.Role.CASHIER,
            register_id=self.register_id,
            lines=lines,
            payments=payments,
            customer_id=customer_id,
        )
        for line in lines:
            self.level[line.product_id] -= line.quantity
        self.sales[event.sale_index] = sale
        stamps.sales[sale.pk] = event.moment
        self.progress(len(self.products) + len(self.sales), f"{self.store.name}: sales")
        cash = sum(
            (payment.amount for payment in payments if payment.method == PaymentMethod.CASH), ZERO
        )
        return cash - sale.change_due

    def _refund(self, event: _Event, stamps: Stamps) -> Decimal:
        """Take back one line of an earlier sale; returns the cash paid out of the drawer."""
        sale = self.sales[event.sale_index]
        line: SaleLine = self.rng.choice(list(sale.lines.all()))
        quantity = line.quantity
        if quantity > 1 and quantity == quantity.to_integral_value() and self.rng.random() < 0.5:
            quantity = Decimal(1)
        methods = {payment.method for payment in sale.payments.all()}
        method = next(
            method
            for method in (PaymentMethod.CARD, PaymentMethod.OTHER, PaymentMethod.CASH)
            if method in methods
        )
        reason, restock = self.rng.choice(REFUND_REASONS)
        refund = sale_refund(
            sale=sale,
            user=self.manager,
            lines=[RefundLineInput(line_id=line.pk, quantity=quantity)],
            method=method,
            restock=restock,
            reason=reason,
        )
        if restock:
            self.level[line.product_id] += quantity
        stamps.refunds[refund.pk] = event.moment
        self.refunds += 1
        return refund.total if method == PaymentMethod.CASH else ZERO

"""Shared tables in `public`: users, stores (the tenants), their domains and memberships."""

from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.timezone import now
from django_tenants.models import DomainMixin, TenantMixin

from core.money import MoneyColumn
from stores.key_cache import forget_store
from stores.validators import validate_locale


def user_reference(**options: Any) -> models.ForeignKey:
    """A store table's reference to a user (in public), without a database constraint.

    Django's deletion collector cannot see into store schemas, and people who have acted in a
    store are deactivated, never deleted; the column names who did what.
    """
    return models.ForeignKey(
        "stores.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        **options,
    )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # Emails are logins here: one spelling per person, whatever case they type.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email; global, and a member of any number of stores."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)
    # Set once the user is a member of any store, and never unset: their name is on its sales,
    # shifts and ledger, so they are deactivated, never deleted (stores.services.user_delete).
    has_store_history = models.BooleanField(default=False, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("email"), name="stores_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class Store(TenantMixin):
    """A shop: one row here, and one PostgreSQL schema holding all of its data."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    tenant_key = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3)
    timezone = models.CharField(max_length=64)
    prices_include_tax = models.BooleanField(default=True)
    allow_negative_stock = models.BooleanField(
        default=False, help_text="Let sales and adjustments take stock below zero."
    )
    offline_oversell = models.BooleanField(
        default=False,
        help_text=(
            "Accept an offline sale whose stock ran out before it was synced (the goods have "
            "left the shop) even though online sales may not take stock below zero: stock goes "
            "below zero and the conflict is recorded. Off (and negative stock not allowed): "
            "such a sale is rejected and nothing of it written."
        ),
    )
    cash_rounding = MoneyColumn(
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The smallest cash step where coins are gone (0.05 CHF, 1.00 SEK): the cash "
        "due is rounded to it, half-up. 0: no rounding.",
    )
    blind_close = models.BooleanField(
        default=False,
        help_text="A cashier counts the drawer before seeing what it should hold.",
    )
    max_cash_difference = MoneyColumn(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="A shift whose counted cash is further than this from the expected cash is "
        "closed only by an owner or a manager (none: any difference).",
    )
    cashier_max_discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="The largest discount a cashier may give on a line, in percent of the line.",
    )
    # Receipts: amounts and dates are written the way this locale writes them (Babel's CLDR).
    locale = models.CharField(
        max_length=35,
        default="en",
        validators=[validate_locale],
        help_text="How receipts write amounts and dates: a CLDR locale (en, de_CH, ru, ja).",
    )
    receipt_header = models.TextField(max_length=500, blank=True, default="")
    receipt_footer = models.TextField(max_length=500, blank=True, default="")
    tax_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The store's tax number, on receipts."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    # Onboarding creates the schema itself, inside the same transaction as this row.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self.forget_cached()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self.forget_cached()
        return result

    def forget_cached(self) -> None:
        """Drop this store from the tenant-key cache now and again once the change commits."""
        forget_store(self.tenant_key)
        # A request that read the old row before this commit may have cached it meanwhile.
        transaction.on_commit(lambda: forget_store(self.tenant_key))


class Domain(DomainMixin):
    """Required by django-tenants; Kassa routes by the `X-Tenant-Key` header, not by host."""


class Membership(models.Model):
    """A user's role in one store."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        CASHIER = "cashier", "Cashier"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "store"], name="stores_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.store} as {self.role}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        is_new = self._state.adding
        super().save(*args, **kwargs)
        if is_new and not self.user.has_store_history:
            # However the membership is made (a service, the admin), its user has history now.
            User.objects.filter(pk=self.user_id).update(has_store_history=True)
            self.user.has_store_history = True


class Invitation(models.Model):
    """An owner's invitation to join a store in a role; nobody becomes a member without one.

    Only a hash of the token is kept: the token itself is shown once, to the owner who invites.
    An invitation is used once: accepting it, or its expiry, ends it.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["store", "email"],
                condition=models.Q(accepted_at__isnull=True),
                name="stores_invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.store} as {self.role}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        return self.Status.EXPIRED if self.expires_at <= now() else self.Status.PENDING


class SpareSchema(models.Model):
    """An empty store schema, migrated ahead of time, waiting to be renamed for a new store."""

    name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name


class TemplateStatement(models.Model):
    """The statements that built the template schema, in order; replayed to make a store schema.

    Position 0 names the migration state the script has reached.
    """

    position = models.PositiveIntegerField(primary_key=True)
    sql = models.TextField()

    def __str__(self) -> str:
        return f"{self.position}: {self.sql[:60]}"

"""Input and output shapes of the stores API: auth, the caller and their stores, the current
store and its staff."""

from decimal import Decimal

from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.fields import MoneyField
from stores.models import Invitation, Membership, Store, User
from stores.validators import validate_locale, validate_time_zone


class UserSerializer(serializers.ModelSerializer):
    """A person with an account."""

    class Meta:
        model = User
        fields = ("id", "email", "full_name")
        read_only_fields = fields


class StoreSerializer(serializers.ModelSerializer):
    """A store: its names, key, currency, time zone and tax setting."""

    class Meta:
        model = Store
        fields = (
            "id",
            "name",
            "slug",
            "schema_name",
            "tenant_key",
            "currency",
            "timezone",
            "prices_include_tax",
            "created_at",
        )
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer):
    """A JWT pair: `access` for the Authorization header, `refresh` to get the next pair."""

    access = serializers.CharField()
    refresh = serializers.CharField()


class StoreMembershipSerializer(serializers.ModelSerializer):
    """One of the caller's stores, with their role in it."""

    id = serializers.IntegerField(source="store.id")
    name = serializers.CharField(source="store.name")
    slug = serializers.CharField(source="store.slug")
    tenant_key = serializers.CharField(source="store.tenant_key")
    role = serializers.ChoiceField(choices=Membership.Role.choices)

    class Meta:
        model = Membership
        fields = ("id", "name", "slug", "tenant_key", "role")
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user, and the stores they belong to with their role in each."""

    stores = StoreMembershipSerializer(many=True)

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "stores")
        read_only_fields = fields


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """An account's email and password, for a token pair."""


class LogoutSerializer(serializers.Serializer):
    """The refresh token to revoke."""

    refresh = serializers.CharField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's rotation, made safe for two refreshes of one token at the same time.

    The token's outstanding row is locked first, so the second request waits for the first to
    commit its blacklisting and is then refused; a deleted user's token is refused with 401.
    """

    def validate(self, attrs: dict) -> dict:
        try:
            jti = RefreshToken(attrs["refresh"], verify=False).get("jti")
        except TokenError:
            jti = None  # the full validation below refuses it properly
        if jti:
            list(OutstandingToken.objects.select_for_update().filter(jti=jti).values("id"))
        try:
            return super().validate(attrs)
        except User.DoesNotExist as error:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from error


class StaffSerializer(serializers.ModelSerializer):
    """A member of the store's staff."""

    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "is_active", "created_at")
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    """Who to invite, and in which role: the person joins when they accept."""

    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation to join the store's staff. `status` is `pending` until it is accepted or
    expires."""

    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)

    class Meta:
        model = Invitation
        fields = ("id", "email", "role", "status", "expires_at", "created_at")
        read_only_fields = fields


class IssuedInvitationSerializer(InvitationSerializer):
    """An invitation just made, with its `token`: shown this once, to hand to the person (as a
    link or a QR code on the till); Kassa keeps only its hash."""

    token = serializers.CharField(read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = (*InvitationSerializer.Meta.fields, "token")
        read_only_fields = fields


class InvitationAcceptSerializer(serializers.Serializer):
    """The invitation's token; with no one signed in, the new account's password and name."""

    token = serializers.CharField(max_length=100, trim_whitespace=True)
    password = serializers.CharField(
        max_length=128,
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="For a new account, when no one is signed in.",
    )
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class InvitationAcceptedSerializer(serializers.Serializer):
    """The store joined and the role in it; a new account gets its first token pair."""

    store = StoreSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    tokens = TokenPairSerializer(required=False)


class StaffUpdateSerializer(serializers.Serializer):
    """A member's new role, or `is_active: false` to suspend them."""

    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


# What the owner may change on the active store.
STORE_SETTINGS = (
    "name",
    "timezone",
    "prices_include_tax",
    "allow_negative_stock",
    "offline_oversell",
    "cash_rounding",
    "blind_close",
    "max_cash_difference",
    "cashier_max_discount_percent",
    "locale",
    "receipt_header",
    "receipt_footer",
    "tax_id",
)


class CurrentStoreSerializer(serializers.ModelSerializer):
    """The store named by `X-Tenant-Key`. Its owner may change its name, time zone, tax and
    stock settings (online, and for offline sales whose stock ran out meanwhile), how the drawer
    is closed (blind, within a difference), how much a cashier may take off a line, and what its
    receipts say (header, footer, tax id) in which locale."""

    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_time_zone])
    locale = serializers.CharField(
        max_length=35,
        required=False,
        validators=[validate_locale],
        help_text="How receipts write amounts and dates: a CLDR locale (en, de_CH, ru, ja).",
    )
    cash_rounding = MoneyField(
        min_value=Decimal("0"),
        required=False,
        help_text="The smallest cash step (0.05 CHF, 1.00 SEK): cash due is rounded to it, "
        "half-up; only the cash part of a split payment. 0: none.",
    )
    max_cash_difference = MoneyField(
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="A cashier may close a shift only if the counted cash is within this of the "
        "expected cash (null: any difference).",
    )

    class Meta:
        model = Store
        fields = (
            *StoreSerializer.Meta.fields,
            "allow_negative_stock",
            "offline_oversell",
            "cash_rounding",
            "blind_close",
            "max_cash_difference",
            "cashier_max_discount_percent",
            "locale",
            "receipt_header",
            "receipt_footer",
            "tax_id",
            "is_active",
        )
        read_only_fields = tuple(set(fields) - set(STORE_SETTINGS))

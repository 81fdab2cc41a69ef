"""Input and output shapes of the stores API: auth, the caller and their stores, the current
store and its staff."""

from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from stores.models import Membership, Store, User
from stores.validators import validate_time_zone


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "email", "full_name")
        read_only_fields = fields


class StoreSerializer(serializers.ModelSerializer):
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
    stores = StoreMembershipSerializer(many=True)

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "stores")
        read_only_fields = fields


class LogoutSerializer(serializers.Serializer):
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


class StaffCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    password = serializers.CharField(
        max_length=128,
        write_only=True,
        required=False,
        default="",
        trim_whitespace=False,
        help_text="Needed only when no user has this email yet; an existing user keeps theirs.",
    )


class StaffUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


# What the owner may change on the active store.
STORE_SETTINGS = ("name", "timezone", "prices_include_tax", "allow_negative_stock")


class CurrentStoreSerializer(serializers.ModelSerializer):
    """The active store. The owner may change its name, time zone and tax and stock settings."""

    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_time_zone])

    class Meta:
        model = Store
        fields = (*StoreSerializer.Meta.fields, "allow_negative_stock", "is_active")
        read_only_fields = tuple(set(fields) - set(STORE_SETTINGS))

"""Input and output shapes of signup."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from stores.models import User
from stores.serializers import StoreSerializer, TokenPairSerializer, UserSerializer
from stores.validators import validate_currency, validate_time_zone


class SignupOwnerSerializer(serializers.Serializer):
    """The new owner's account: email, password and name."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    def validate_email(self, value: str) -> str:
        email = User.objects.normalize_email(value)
        if User.objects.filter(email=email).exists():
            raise serializers.ValidationError(
                "A user with this email already exists: sign in, then sign up the store "
                "with your token."
            )
        return email

    def validate(self, attrs: dict) -> dict:
        candidate = User(email=attrs["email"], full_name=attrs.get("full_name", ""))
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from error
        return attrs


class SignupSerializer(serializers.Serializer):
    """A new store: its name, currency, time zone and tax setting, and (anonymously) its owner."""

    store_name = serializers.CharField(max_length=200)
    currency = serializers.CharField(min_length=3, max_length=3, validators=[validate_currency])
    timezone = serializers.CharField(max_length=64, validators=[validate_time_zone])
    prices_include_tax = serializers.BooleanField(default=True)
    owner = SignupOwnerSerializer(
        required=False,
        help_text="The new owner's account. Required without a Bearer token; with one, the "
        "caller becomes the owner and this is ignored.",
    )

    def to_internal_value(self, data: object) -> dict:
        if isinstance(data, dict) and isinstance(data.get("currency"), str):
            data = {**data, "currency": data["currency"].strip().upper()}
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        if not self.context["request"].user.is_authenticated and "owner" not in attrs:
            raise serializers.ValidationError(
                {"owner": ["Required when signing up without a Bearer token."]}
            )
        return attrs

    def run_validation(self, data: object = serializers.empty) -> dict:
        # An authenticated caller's `owner` is ignored, so it must not fail validation either.
        request = self.context["request"]
        if request.user.is_authenticated and isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "owner"}
        return super().run_validation(data)


class SignupResponseSerializer(serializers.Serializer):
    """The store just made, its owner, and the owner's token pair."""

    store = StoreSerializer()
    user = UserSerializer()
    tokens = TokenPairSerializer()

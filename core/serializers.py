"""Serializer base classes shared by the apps: lean serializers, and model serializers whose
money columns are money in the store's currency."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import BIGINT_MAX, IdField, MoneyField
from core.money import MoneyColumn


def _clone(field: serializers.Field) -> serializers.Field:
    if isinstance(field, serializers.ListSerializer):
        return field.__class__(*field._args, **{**field._kwargs, "child": _clone(field.child)})
    return field.__class__(*field._args, **field._kwargs)


class LeanSerializer(serializers.Serializer):
    # Not a docstring: the OpenAPI schema would show it as the description of every subclass.
    # DRF deep-copies every declared field for every serializer instance, which on a checkout
    # (request and answer, some forty fields) costs more than a database round trip. The
    # arguments given to fields here are immutable (numbers, strings, choices, validators), so a
    # fresh instance from the same arguments is enough; nested serializers are cloned alike.

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: _clone(field) for name, field in self._declared_fields.items()}

    @classmethod
    def _kept(cls) -> "LeanSerializer":
        """One serializer of the class kept for the process, its fields (nested ones included)
        made and bound once. Showing an object or checking data only reads them, so threads
        share it; for serializers whose fields and methods read no context (it has none)."""
        kept = cls.__dict__.get("_kept_serializer")  # the class's own, never a base class's
        if kept is None:
            kept = cls()
            _bind_all(kept)
            cls._kept_serializer = kept
        return kept

    @classmethod
    def represent(cls, instance: Any) -> dict[str, Any]:
        """`cls(instance).data`, by the kept serializer: answering a checkout makes no field."""
        return cls._kept().to_representation(instance)

    @classmethod
    def validated(cls, data: Any) -> dict[str, Any]:
        """`cls(data=data).validated_data` after `is_valid(raise_exception=True)`, by the kept
        serializer: checking a checkout makes no field. Refused data is checked again the usual
        way, so its errors are worded exactly as `is_valid` words them."""
        try:
            return cls._kept().run_validation(data)
        except serializers.ValidationError as refusal:
            cls(data=data).is_valid(raise_exception=True)
            raise serializers.ValidationError(refusal.detail) from refusal


def _bind_all(serializer: serializers.BaseSerializer) -> None:
    """Make every field of `serializer` and of the serializers nested in it, before any thread
    reads them (they are made lazily, on first use)."""
    if isinstance(serializer, serializers.ListSerializer):
        _bind_all(serializer.child)
        return
    for field in serializer.fields.values():
        if isinstance(field, serializers.BaseSerializer):
            _bind_all(field)


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX})
class IdRelatedField(serializers.PrimaryKeyRelatedField):
    # A reference to another object by its id, bounded (`IdField`) before it is looked up.

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(IdField().run_validation(data))


class ModelSerializer(serializers.ModelSerializer):
    # Not a docstring, for the same reason: a model's money columns (`MoneyColumn`) become
    # `MoneyField`s, read and shown in the store currency's places, and references to other
    # objects are bounded ids.

    serializer_related_field = IdRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        MoneyColumn: MoneyField,
    }

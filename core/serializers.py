"""Serializer base classes shared by the apps."""

from rest_framework import serializers


def _clone(field: serializers.Field) -> serializers.Field:
    if isinstance(field, serializers.ListSerializer):
        return field.__class__(*field._args, **{**field._kwargs, "child": _clone(field.child)})
    return field.__class__(*field._args, **field._kwargs)


class LeanSerializer(serializers.Serializer):
    """A Serializer that clones its declared fields without deep-copying their arguments.

    DRF deep-copies every declared field for every serializer instance, which on a checkout
    (request and answer, some forty fields) costs more than a database round trip. The
    arguments given to fields here are immutable (numbers, strings, choices, validators), so a
    fresh instance from the same arguments is enough; nested serializers are cloned alike.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: _clone(field) for name, field in self._declared_fields.items()}

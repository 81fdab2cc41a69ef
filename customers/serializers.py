"""Input and output shapes of the customers API."""

from rest_framework import serializers

from customers.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = (
            "id",
            "name",
            "phone",
            "email",
            "note",
            "total_spent",
            "visits",
            "last_purchase_at",
            "created_at",
        )
        read_only_fields = ("total_spent", "visits", "last_purchase_at", "created_at")

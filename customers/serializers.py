"""Input and output shapes of the customers API."""

from core.serializers import ModelSerializer
from customers.models import Customer


class CustomerSerializer(ModelSerializer):
    """A shopper of the store; `total_spent`, `visits` and `last_purchase_at` follow their sales."""

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

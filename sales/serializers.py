"""Input and output shapes of the sales API."""

from rest_framework import serializers

from sales.models import Register


class RegisterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Register
        fields = ("id", "name", "is_active")

"""Input and output shapes of the analytics API."""

from datetime import date, timedelta

from rest_framework import serializers

from jobs.serializers import JobSerializer
from sales.models import PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 3}
# A summary or a rebuild spans at most this many days.
MAX_RANGE_DAYS = 366


class DateRangeSerializer(serializers.Serializer):
    """`from` and `to`, local days of the store, `from` <= `to`, at most a year apart."""

    def get_fields(self) -> dict:
        # `from` is a Python keyword, so the fields are named here.
        return {
            "from": serializers.DateField(required=False, help_text="First day, YYYY-MM-DD."),
            "to": serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD."),
        }

    def validate(self, attrs: dict) -> dict:
        first, last = attrs.get("from"), attrs.get("to")
        if first and last:
            if first > last:
                raise serializers.ValidationError({"from": ["`from` comes after `to`."]})
            if (last - first).days + 1 > MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"to": [f"A range spans at most {MAX_RANGE_DAYS} days."]}
                )
        return attrs


class SummaryQuerySerializer(DateRangeSerializer):
    """Without `from`/`to`: the 30 days up to the store's today."""

    def resolve(self, today: date) -> tuple[date, date]:
        last = self.validated_data.get("to") or today
        first = self.validated_data.get("from") or last - timedelta(days=29)
        if first > last:
            raise serializers.ValidationError({"from": ["`from` comes after `to`."]})
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"from": [f"A range spans at most {MAX_RANGE_DAYS} days."]}
            )
        return first, last


class RegenerateSerializer(DateRangeSerializer):
    """Both days, or neither for everything."""

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if ("from" in attrs) != ("to" in attrs):
            raise serializers.ValidationError(["Give both `from` and `to`, or neither."])
        return attrs


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    sales_count = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)
    refunds = serializers.DecimalField(**MONEY)


class MethodSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(**MONEY)


class TopProductSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    revenue = serializers.DecimalField(**MONEY)


class HourSerializer(serializers.Serializer):
    hour = serializers.IntegerField(min_value=0, max_value=23)
    sales_count = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)


class SummarySerializer(serializers.Serializer):
    currency = serializers.CharField()
    sales_count = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)
    refunds = serializers.DecimalField(**MONEY)
    net_revenue = serializers.DecimalField(**MONEY)
    average_ticket = serializers.DecimalField(**MONEY)
    items_sold = serializers.DecimalField(**QUANTITY)
    by_day = DaySerializer(many=True)
    by_payment_method = MethodSerializer(many=True)
    top_products = TopProductSerializer(many=True)
    by_hour = HourSerializer(many=True)
    generated_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self) -> dict:
        return {
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            **super().get_fields(),
        }


class RegenerateResponseSerializer(serializers.Serializer):
    job = JobSerializer()

"""Input and output shapes of the analytics API."""

from datetime import date, timedelta

from rest_framework import serializers

from analytics.exports import FORMATS as EXPORT_FORMATS
from analytics.exports import KINDS as EXPORT_KINDS
from core.fields import DayField, MoneyField
from jobs.serializers import JobSerializer
from sales.models import PaymentMethod

QUANTITY = {"max_digits": 14, "decimal_places": 3}
# A summary or a rebuild spans at most this many days.
MAX_RANGE_DAYS = 366


class DateRangeSerializer(serializers.Serializer):
    """`from` and `to`, local days of the store, `from` <= `to`, at most a year apart."""

    def get_fields(self) -> dict:
        # `from` is a Python keyword, so the fields are named here.
        return {
            "from": DayField(required=False, help_text="First day, YYYY-MM-DD."),
            "to": DayField(required=False, help_text="Last day, YYYY-MM-DD."),
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
    """A local day of the store: its sales (by the sale's day) and refunds (by the refund's day)."""

    date = serializers.DateField()
    sales_count = serializers.IntegerField()
    revenue = MoneyField()
    refunds = MoneyField()


class MethodSerializer(serializers.Serializer):
    """What a payment method took over the range, net of change and before refunds."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = MoneyField()


class TopProductSerializer(serializers.Serializer):
    """One of the range's best-selling products: the quantity sold and what customers paid."""

    product = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    revenue = MoneyField()


class HourSerializer(serializers.Serializer):
    """The sales made in one local hour of the day (0–23), over the whole range."""

    hour = serializers.IntegerField(min_value=0, max_value=23)
    sales_count = serializers.IntegerField()
    revenue = MoneyField()


class SummarySerializer(serializers.Serializer):
    """The store's sales figures over a range of its local days, from its precomputed analytics."""

    currency = serializers.CharField()
    sales_count = serializers.IntegerField()
    revenue = MoneyField()
    refunds = MoneyField()
    net_revenue = MoneyField()
    average_ticket = MoneyField()
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
    """The rebuild just queued: follow it at `/api/jobs/{id}/`."""

    job = JobSerializer()


class ExportSerializer(DateRangeSerializer):
    """What to export, over which local days (all of it without `from`/`to`), as what file."""

    def get_fields(self) -> dict:
        return {
            "kind": serializers.ChoiceField(choices=EXPORT_KINDS),
            **super().get_fields(),
            "format": serializers.ChoiceField(choices=EXPORT_FORMATS, default="csv"),
        }


class ExportResponseSerializer(serializers.Serializer):
    """The export just queued: follow it at `/api/jobs/{id}/`, then fetch
    `/api/jobs/{id}/download/`."""

    job = JobSerializer()


class CatalogImportSerializer(serializers.Serializer):
    """A catalog file (CSV or XLSX), and how to take it."""

    file = serializers.FileField(
        allow_empty_file=False,
        help_text="CSV (any common delimiter; UTF-8, Windows-1252 or -1251) or XLSX, a header "
        "row first: `name`, `price` required; `sku`, `barcode`, `category` (a path: "
        "`Drinks/Tea`), `cost`, `tax_rate`, `stock`, `is_active`, `reorder_level` optional.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check the file and report what it would do; write nothing."
    )
    partial = serializers.BooleanField(
        default=False,
        help_text="Write the good rows even when others have errors (else nothing is written).",
    )


class CatalogImportResponseSerializer(serializers.Serializer):
    """The import just queued: follow it at `/api/jobs/{id}/`. Its `result` is `{"created",
    "updated", "unchanged", "errors": [{"row", "field", "message"}], "error_count", "rows",
    "written", "dry_run", "partial", "format", "encoding", "delimiter", "ignored_columns"}`;
    a file with errors fails the job (nothing written) unless `partial` or `dry_run`."""

    job = JobSerializer()

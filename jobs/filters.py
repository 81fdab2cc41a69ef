"""django-filter filter sets of the jobs app's endpoints."""

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema_field

from core.events import EVENT_TYPES
from core.fields import BIGINT_MAX
from core.filters import FilterSet, IdFilter
from core.models import Event


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 0, "maximum": BIGINT_MAX})
class AfterFilter(IdFilter):
    """The last event id seen (0: before the first)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        super().__init__(*args, **kwargs)


class EventFilter(FilterSet):
    after = AfterFilter(
        field_name="id",
        lookup_expr="gt",
        help_text="The last event id seen: only later events (0 or none: from the first).",
    )
    type = django_filters.ChoiceFilter(choices=[(kind, kind) for kind in EVENT_TYPES])

    class Meta:
        model = Event
        fields = ("after", "type")

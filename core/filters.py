"""Query filters that are bounded before any query runs: ids and days.

django-filter's NumberFilter reads a decimal, so `?register=-1e300000` became an integer of
300 000 digits on its way to the database, minutes of CPU for one request. Ids here are whole
numbers between 1 and PostgreSQL's largest bigint, days lie between DAY_MIN and DAY_MAX, and
anything else is a 400 at once. `FilterBackend` makes the filter sets DRF builds from a view's
`filterset_fields` use them too.
"""

from typing import Any

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from core.fields import BIGINT_MAX, validate_day


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX})
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number from 1 to the largest bigint."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class DayFilter(django_filters.DateFilter):
    """A day, YYYY-MM-DD, from DAY_MIN to DAY_MAX."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [validate_day])
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.rest_framework.FilterSet):
    """django-filter's, with ids and days bounded for the filters it makes from model fields."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.AutoField: {"filter_class": IdFilter},
        models.BigAutoField: {"filter_class": IdFilter},
        # By the referenced id, as the explicit id filters do: an unknown one matches nothing.
        models.ForeignKey: {"filter_class": IdFilter},
        models.DateField: {"filter_class": DayFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """DRF's django-filter backend, building `filterset_fields` filter sets on `FilterSet`."""

    filterset_base = FilterSet

"""App configuration for `ops`: no models, only the operator commands."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

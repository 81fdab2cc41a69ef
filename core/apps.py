"""App configuration for `core`: the kernel, whose one table per store is the event outbox."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Kernel"

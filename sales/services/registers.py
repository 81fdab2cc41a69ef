"""Registers (tills): made, renamed, deactivated; deleted only when they never had a shift."""

from django.db import transaction

from sales.models import Register

MAIN_REGISTER_NAME = "Main register"


def register_create(*, name: str, is_active: bool = True) -> Register:
    return Register.objects.create(name=name, is_active=is_active)


@transaction.atomic
def register_update(
    *, register: Register, name: str | None = None, is_active: bool | None = None
) -> Register:
    changed = []
    if name is not None:
        register.name = name
        changed.append("name")
    if is_active is not None:
        register.is_active = is_active
        changed.append("is_active")
    if changed:
        register.save(update_fields=changed)
    return register


@transaction.atomic
def register_delete(*, register: Register) -> bool:
    """Delete a register that never had a shift; deactivate one with history. True if deleted."""
    if register.shifts.exists():
        if register.is_active:
            register.is_active = False
            register.save(update_fields=["is_active"])
        return False
    register.delete()
    return True

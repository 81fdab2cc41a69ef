"""Users: made with a checked email and password; with store history, deactivated not deleted."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stores.models import User


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    """A new user; 400-style field errors for a taken email or a weak password."""
    email = User.objects.normalize_email(email)
    candidate = User(email=email, full_name=full_name)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError as error:  # the same email signed up concurrently
        raise ValidationError({"email": ["A user with this email already exists."]}) from error
    return candidate


@transaction.atomic
def user_delete(*, user: User) -> bool:
    """Delete a user who never belonged to a store; deactivate one with store history (their
    name is on sales, shifts and the ledger, so they stay). True if deleted."""
    if user.has_store_history:
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        return False
    user.delete()
    return True

"""Invitations: an owner invites an email in a role; the person behind it joins by accepting.

Nobody becomes a member without accepting. The owner's answer is the same whatever the email
(whether it has an account is never told, nor anyone's name). The token is shown once, kept only
as its SHA-256, used once, and expires after INVITATION_DAYS.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.timezone import now

from stores.exceptions import AlreadyAMember, InvitationInvalid, SignInFirst
from stores.models import Invitation, Membership, Store, User
from stores.services.staff import membership_create, validate_role
from stores.services.users import user_create


@dataclass(frozen=True)
class Issued:
    """An invitation just made, with its token: the only time the token exists in the clear."""

    invitation: Invitation
    token: str


@dataclass(frozen=True)
class Joined:
    """An accepted invitation: the member it made, and whether their account is new."""

    membership: Membership
    is_new_user: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(*, store: Store, email: str, role: str, invited_by: User) -> Issued:
    """Invite `email` to `store` in `role`; an earlier pending invitation of it is replaced."""
    validate_role(role)
    email = User.objects.normalize_email(email)
    # One invitation of an email per store at a time: two owners inviting it at once (or one
    # double click) wait for each other here, so the second replaces the first.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"kassa.invitation:{store.pk}:{email}"],
        )
    # Only an active member is refused: the owner sees who they are in the staff list anyway.
    if Membership.objects.filter(store=store, user__email=email, is_active=True).exists():
        raise AlreadyAMember
    Invitation.objects.filter(store=store, email=email, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        store=store,
        email=email,
        role=role,
        token_hash=token_hash(token),
        invited_by=invited_by,
        expires_at=now() + timedelta(days=settings.INVITATION_DAYS),
    )
    return Issued(invitation=invitation, token=token)


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


@transaction.atomic
def invitation_accept(
    *, token: str, user: User | None, password: str = "", full_name: str = ""
) -> Joined:
    """Join the invitation's store: as the signed-in `user` whose email was invited, or, with no
    one signed in, as a new account for that email made with `password`.

    400 `invitation_invalid` for a token that is unknown, used or expired, or is for another
    email than the signed-in user's; 401 when the email has an account and no one signed in.
    """
    invitation = (
        Invitation.objects.select_for_update(of=("self",))  # the invitation, not its store
        .select_related("store")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None or invitation.status != Invitation.Status.PENDING:
        raise InvitationInvalid
    if not invitation.store.is_active:
        raise InvitationInvalid
    is_new_user = False
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise SignInFirst
        if not password:
            raise ValidationError({"password": ["Required to make your account."]})
        user = user_create(email=invitation.email, password=password, full_name=full_name)
        is_new_user = True
    elif User.objects.normalize_email(user.email) != invitation.email:
        raise InvitationInvalid("This invitation is for another email than yours.")
    membership = membership_create(store=invitation.store, user=user, role=invitation.role)
    invitation.accepted_at, invitation.accepted_by = now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return Joined(membership=membership, is_new_user=is_new_user)

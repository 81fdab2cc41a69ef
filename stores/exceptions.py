"""Errors of the store-scoped request rules (API.md, "Store-scoped request rules")."""

from rest_framework import exceptions, status

from core.exceptions import DomainError


class TenantRequired(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This endpoint acts in a store: send its key in the X-Tenant-Key header."
    default_code = "tenant_required"


class TenantNotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "No active store has this X-Tenant-Key."
    default_code = "tenant_not_found"


class NotAMember(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "You are not a member of this store."
    default_code = "not_a_member"


class RoleNotAllowed(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Your role in this store does not allow this action."
    default_code = "permission_denied"


class LastOwner(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A store keeps at least one active owner."
    default_code = "last_owner"


class AlreadyAMember(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This user is already a member of this store."
    default_code = "already_a_member"


class InvitationInvalid(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This invitation is unknown, used or expired."
    default_code = "invitation_invalid"


class SignInFirst(exceptions.NotAuthenticated):
    """The invited email has an account: its owner signs in, then accepts with their token.

    DRF's NotAuthenticated, so the 401 names the scheme to sign in with (`WWW-Authenticate`).
    """

    default_detail = "An account with this email exists: sign in, then accept the invitation."

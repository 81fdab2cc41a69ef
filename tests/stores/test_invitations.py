"""Staff invitations: the owner invites an email in a role (POST /api/staff/), sees and withdraws
invitations (/api/staff/invitations/), and the person joins by accepting its token
(POST /api/invitations/accept/). Nobody becomes a member without accepting."""

import contextlib
import hashlib
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.timezone import now
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.exceptions import DomainError
from stores import models, services
from stores.models import Invitation, Membership, Store, User
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, access_token, make_store
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

STAFF = "/api/staff/"
INVITATIONS = "/api/staff/invitations/"
ACCEPT = "/api/invitations/accept/"
TOKEN = "/api/auth/token/"
ME = "/api/me/"
STORE = "/api/store/"
CUSTOMERS = "/api/customers/"
REGISTERS = "/api/sales/registers/"
ROLES = ("owner", "manager", "cashier")
NEW_EMAIL = "new.cashier@example.com"
NEW_PASSWORD = "a fresh and long passphrase"
INVITATION_DAYS = 7  # settings.INVITATION_DAYS's default
ISSUED_KEYS = {"id", "email", "role", "status", "expires_at", "created_at", "token"}
LISTED_KEYS = ISSUED_KEYS - {"token"}

NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
PERMISSION_DENIED = {
    "detail": "Your role in this store does not allow this action.",
    "code": "permission_denied",
}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
ALREADY_A_MEMBER = {
    "detail": "This user is already a member of this store.",
    "code": "already_a_member",
}
INVITATION_INVALID = {
    "detail": "This invitation is unknown, used or expired.",
    "code": "invitation_invalid",
}
FOR_ANOTHER_EMAIL = {
    "detail": "This invitation is for another email than yours.",
    "code": "invitation_invalid",
}
SIGN_IN_FIRST = {
    "detail": "An account with this email exists: sign in, then accept the invitation.",
    "code": "not_authenticated",
}

ClientFor = Callable[..., APIClient]


# --- helpers ---------------------------------------------------------------------------------


def rows() -> dict[str, list]:
    """Every user, membership and invitation as stored: what a refused request must not touch."""
    return {
        "users": list(
            User.objects.order_by("id").values_list(
                "id", "email", "full_name", "password", "is_active", "has_store_history"
            )
        ),
        "memberships": list(
            Membership.objects.order_by("id").values_list(
                "id", "user_id", "store_id", "role", "is_active"
            )
        ),
        "invitations": list(Invitation.objects.order_by("id").values()),
    }


def time_json(value: datetime) -> str:
    return DateTimeField().to_representation(value)


def invitation_json(invitation: Invitation) -> dict:
    """An invitation as GET /api/staff/invitations/ shows it."""
    invitation.refresh_from_db()
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "expires_at": time_json(invitation.expires_at),
        "created_at": time_json(invitation.created_at),
    }


def store_json(store: Store) -> dict:
    """A store as the accept answer shows it (the same fields as the signup answer's store)."""
    store.refresh_from_db()
    return {
        "id": store.id,
        "name": store.name,
        "slug": store.slug,
        "schema_name": store.schema_name,
        "tenant_key": store.tenant_key,
        "currency": store.currency,
        "timezone": store.timezone,
        "prices_include_tax": store.prices_include_tax,
        "created_at": time_json(store.created_at),
    }


def store_item(store: Store, role: str) -> dict:
    """One of `/api/me/`'s stores."""
    return {
        "id": store.id,
        "name": store.name,
        "slug": store.slug,
        "tenant_key": store.tenant_key,
        "role": role,
    }


def invite(client: APIClient, email: str, role: str = "cashier") -> dict:
    """POST /api/staff/ as `client` (an owner's), which must succeed; the answer."""
    response = client.post(STAFF, {"email": email, "role": role})
    assert response.status_code == 201, response.content
    return response.json()


def accept(client: APIClient, token: str, **fields: str):
    return client.post(ACCEPT, {"token": token, **fields})


def sign_in(email: str, password: str, store: Store | None = None) -> APIClient:
    """A client signed in through /api/auth/token/, as a POS would be, in `store` if given."""
    client = APIClient()
    response = client.post(TOKEN, {"email": email, "password": password})
    assert response.status_code == 200, response.content
    headers = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}
    if store is not None:
        headers["HTTP_X_TENANT_KEY"] = store.tenant_key
    client.credentials(**headers)
    return client


def in_store(access: str, store: Store) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_X_TENANT_KEY=store.tenant_key)
    return client


def memberships_of(user: User) -> list[tuple[int, str, bool]]:
    return list(
        Membership.objects.filter(user=user)
        .order_by("store_id")
        .values_list("store_id", "role", "is_active")
    )


def expire(invitation_id: int) -> None:
    Invitation.objects.filter(pk=invitation_id).update(expires_at=now() - timedelta(seconds=1))


# --- POST /api/staff/: inviting --------------------------------------------------------------


def test_the_owner_invites_a_new_email(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    before = rows()
    started = now()

    # when
    response = client_for(store_a.owner, store_a.store).post(
        STAFF, {"email": "  New.Cashier@Example.COM ", "role": "cashier"}
    )

    # then: an invitation, for the email as a login is spelt
    finished = now()
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get()
    body = response.json()
    assert body == {
        "id": invitation.id,
        "email": NEW_EMAIL,
        "role": "cashier",
        "status": "pending",
        "expires_at": time_json(invitation.expires_at),
        "created_at": time_json(invitation.created_at),
        "token": body["token"],
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["token"])
    assert (invitation.store_id, invitation.invited_by_id) == (store_a.store.id, store_a.owner.id)
    assert (invitation.accepted_at, invitation.accepted_by_id) == (None, None)
    assert started <= invitation.created_at <= finished
    days = timedelta(days=INVITATION_DAYS)
    assert started + days <= invitation.expires_at <= finished + days
    # and nobody was made a member, nor an account made
    after = rows()
    assert after["users"] == before["users"]
    assert after["memberships"] == before["memberships"]
    assert len(after["invitations"]) == len(before["invitations"]) + 1


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: one email with an account (a distinctive name), one without
    someone = UserFactory(email="zinaida@example.com", full_name="Зинаида Секретова")
    client = client_for(store_a.owner, store_a.store)
    before = rows()

    # when
    with_account = client.post(STAFF, {"email": someone.email, "role": "manager"})
    without_account = client.post(STAFF, {"email": NEW_EMAIL, "role": "manager"})

    # then: the same status, keys and shape; only the email, id, times and token differ
    assert with_account.status_code == without_account.status_code == 201
    answers = [with_account.json(), without_account.json()]
    for body, email in zip(answers, [someone.email, NEW_EMAIL], strict=True):
        invitation = Invitation.objects.get(pk=body["id"])
        assert set(body) == ISSUED_KEYS
        assert body == {**invitation_json(invitation), "token": body["token"]}
        assert (body["email"], body["role"], body["status"]) == (email, "manager", "pending")
    shapes = [{key: type(value) for key, value in body.items()} for body in answers]
    assert shapes[0] == shapes[1]
    assert with_account.headers.keys() == without_account.headers.keys()
    # never anyone's name, nor the account's id
    for response in (with_account, without_account):
        assert "Зинаида" not in response.content.decode()
        assert "full_name" not in response.content.decode()
        assert "user" not in response.json()
    # and no member, no account
    after = rows()
    assert (after["users"], after["memberships"]) == (before["users"], before["memberships"])


def test_inviting_ignores_a_password_and_name_sent_along(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a client written for the old endpoint, which made the account at once
    before = rows()

    # when
    response = client_for(store_a.owner, store_a.store).post(
        STAFF,
        {"email": NEW_EMAIL, "role": "cashier", "password": NEW_PASSWORD, "full_name": "Ольга"},
    )

    # then: still only an invitation
    assert response.status_code == 201
    assert set(response.json()) == ISSUED_KEYS
    after = rows()
    assert (after["users"], after["memberships"]) == (before["users"], before["memberships"])
    assert not User.objects.filter(email=NEW_EMAIL).exists()


def test_the_token_is_kept_only_as_its_sha256(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # when
    token = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)["token"]

    # then
    row = Invitation.objects.values().get()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)


def test_the_token_never_appears_in_the_invitation_list(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    client = client_for(store_a.owner, store_a.store)
    token = invite(client, NEW_EMAIL)["token"]
    token_hash = Invitation.objects.get().token_hash

    # when
    response = client.get(INVITATIONS)

    # then
    assert response.status_code == 200
    assert [set(item) for item in response.json()["results"]] == [LISTED_KEYS]
    assert token not in response.content.decode()
    assert token_hash not in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_managers_and_cashiers_may_not_invite_list_or_withdraw(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # given: an invitation of the owner's
    invitation_id = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)["id"]
    client = client_for(store_a.member(role), store_a.store)
    before = rows()

    # when
    responses = [
        client.post(STAFF, {"email": "other@example.com", "role": "cashier"}),
        client.post(STAFF, {"email": "other@example.com", "role": role}),
        client.get(INVITATIONS),
        client.delete(f"{INVITATIONS}{invitation_id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == PERMISSION_DENIED
    assert rows() == before


def test_anonymous_callers_may_not_invite_list_or_withdraw(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    invitation_id = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)["id"]
    client = client_for(None, store_a.store)
    before = rows()

    # when
    responses = [
        client.post(STAFF, {"email": "other@example.com", "role": "owner"}),
        client.get(INVITATIONS),
        client.delete(f"{INVITATIONS}{invitation_id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED
    assert rows() == before


def test_a_member_of_another_store_may_not_invite_list_or_withdraw(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: store_b's owner with store_a's key
    invitation_id = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)["id"]
    client = client_for(store_b.owner, store_a.store)
    before = rows()

    # when
    responses = [
        client.post(STAFF, {"email": store_b.owner.email, "role": "owner"}),
        client.get(INVITATIONS),
        client.delete(f"{INVITATIONS}{invitation_id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == NOT_A_MEMBER
    assert rows() == before


@pytest.mark.parametrize("role", ROLES)
def test_inviting_an_active_member_is_409_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # given
    before = rows()

    # when: in another case and role, so that a silent update would show
    response = client_for(store_a.owner, store_a.store).post(
        STAFF,
        {
            "email": store_a.member(role).email.upper(),
            "role": "cashier" if role != "cashier" else "owner",
        },
    )

    # then
    assert response.status_code == 409
    assert response.json() == ALREADY_A_MEMBER
    assert rows() == before


def test_a_suspended_member_can_be_invited(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    Membership.objects.filter(store=store_a.store, user=store_a.cashier).update(is_active=False)
    before = rows()

    # when
    response = client_for(store_a.owner, store_a.store).post(
        STAFF, {"email": store_a.cashier.email, "role": "manager"}
    )

    # then: an invitation; the membership stays suspended until it is accepted
    assert response.status_code == 201
    assert response.json()["email"] == store_a.cashier.email
    after = rows()
    assert (after["users"], after["memberships"]) == (before["users"], before["memberships"])


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"email": "x@example.com", "role": "boss"},
            {"role": ['"boss" is not a valid choice.']},
            id="unknown-role",
        ),
        pytest.param(
            {"email": "x@example.com", "role": "Owner"},
            {"role": ['"Owner" is not a valid choice.']},
            id="role-in-another-case",
        ),
        pytest.param(
            {"email": "x@example.com", "role": None},
            {"role": ["This field may not be null."]},
            id="null-role",
        ),
        pytest.param(
            {"email": "x@example.com"}, {"role": ["This field is required."]}, id="no-role"
        ),
        pytest.param({"role": "cashier"}, {"email": ["This field is required."]}, id="no-email"),
        pytest.param(
            {"email": "not-an-email", "role": "cashier"},
            {"email": ["Enter a valid email address."]},
            id="bad-email",
        ),
        pytest.param(
            {"email": "", "role": "cashier"},
            {"email": ["This field may not be blank."]},
            id="blank-email",
        ),
        pytest.param(
            {"email": f"{'x' * 64}@{'y' * 63}.{'z' * 63}.{'w' * 58}.com", "role": "cashier"},
            {"email": ["Ensure this field has no more than 254 characters."]},
            id="long-email",
        ),
        pytest.param(
            {},
            {"email": ["This field is required."], "role": ["This field is required."]},
            id="empty",
        ),
    ],
)
def test_bad_invitations_are_400_and_write_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, body: dict, errors: dict
) -> None:
    # given
    before = rows()

    # when
    response = client_for(store_a.owner, store_a.store).post(STAFF, body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert rows() == before


def test_inviting_the_same_email_again_replaces_the_pending_invitation(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: a pending invitation as a cashier
    client = client_for(store_a.owner, store_a.store)
    first = invite(client, NEW_EMAIL, "cashier")

    # when: the same email, spelt otherwise, as a manager
    second = invite(client, NEW_EMAIL.upper(), "manager")

    # then: one invitation, the second; the first token is dead, the second one works
    assert second["id"] != first["id"]
    assert second["token"] != first["token"]
    assert list(Invitation.objects.values_list("id", "email", "role")) == [
        (second["id"], NEW_EMAIL, "manager")
    ]
    assert client.get(INVITATIONS).json()["results"] == [
        {key: value for key, value in second.items() if key != "token"}
    ]
    before = rows()
    refused = accept(api_client, first["token"], password=NEW_PASSWORD)
    assert refused.status_code == 400
    assert refused.json() == INVITATION_INVALID
    assert rows() == before
    joined = accept(api_client, second["token"], password=NEW_PASSWORD)
    assert joined.status_code == 200
    assert joined.json()["role"] == "manager"


def test_inviting_the_same_email_to_another_store_leaves_the_first_invitation(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    in_a = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)

    # when
    in_b = invite(client_for(store_b.owner, store_b.store), NEW_EMAIL)

    # then
    assert sorted(Invitation.objects.values_list("id", "store_id")) == [
        (in_a["id"], store_a.store.id),
        (in_b["id"], store_b.store.id),
    ]


# --- GET /api/staff/invitations/ and DELETE /api/staff/invitations/{id}/ ---------------------


def test_the_owner_lists_the_stores_invitations_newest_first_with_their_status(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: three invitations here (one to be accepted, one to expire), one in store_b
    client = client_for(store_a.owner, store_a.store)
    accepted = invite(client, "accepted@example.com", "manager")
    expired = invite(client, "expired@example.com", "cashier")
    pending = invite(client, "pending@example.com", "owner")
    invite(client_for(store_b.owner, store_b.store), "elsewhere@example.com")
    assert accept(api_client, accepted["token"], password=NEW_PASSWORD).status_code == 200
    expire(expired["id"])

    # when
    response = client.get(INVITATIONS)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            invitation_json(Invitation.objects.get(pk=item["id"]))
            for item in (pending, expired, accepted)
        ],
    }
    assert [(row["email"], row["status"]) for row in response.json()["results"]] == [
        ("pending@example.com", "pending"),
        ("expired@example.com", "expired"),
        ("accepted@example.com", "accepted"),
    ]


def test_the_invitation_list_is_empty_without_invitations(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # when
    response = client_for(store_a.owner, store_a.store).get(INVITATIONS)

    # then
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_withdrawing_an_invitation_makes_its_token_useless(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: two invitations
    client = client_for(store_a.owner, store_a.store)
    withdrawn = invite(client, NEW_EMAIL)
    kept = invite(client, "kept@example.com")

    # when
    response = client.delete(f"{INVITATIONS}{withdrawn['id']}/")

    # then
    assert response.status_code == 204
    assert response.content == b""
    assert list(Invitation.objects.values_list("id", flat=True)) == [kept["id"]]
    assert [row["id"] for row in client.get(INVITATIONS).json()["results"]] == [kept["id"]]
    before = rows()
    refused = accept(api_client, withdrawn["token"], password=NEW_PASSWORD)
    assert refused.status_code == 400
    assert refused.json() == INVITATION_INVALID
    assert rows() == before
    assert not User.objects.filter(email=NEW_EMAIL).exists()


def test_another_stores_invitation_is_404_with_this_stores_key(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: invitation ids are global; store_a's owner names one of store_b's
    foreign = invite(client_for(store_b.owner, store_b.store), NEW_EMAIL)
    client = client_for(store_a.owner, store_a.store)
    before = rows()

    # when
    response = client.delete(f"{INVITATIONS}{foreign['id']}/")

    # then: nothing withdrawn, and its token still works in store_b
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert rows() == before
    assert client.get(INVITATIONS).json()["results"] == []
    joined = accept(api_client, foreign["token"], password=NEW_PASSWORD)
    assert joined.status_code == 200
    assert joined.json()["store"]["id"] == store_b.store.id


def test_an_unknown_invitation_is_404(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    known = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    before = rows()

    # when
    response = client_for(store_a.owner, store_a.store).delete(f"{INVITATIONS}{known['id'] + 1}/")

    # then
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert rows() == before


# --- POST /api/invitations/accept/: a new account --------------------------------------------


def test_an_anonymous_new_email_makes_the_account_and_joins(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL, "cashier")
    before = rows()

    # when
    response = accept(api_client, issued["token"], password=NEW_PASSWORD, full_name="Ольга")

    # then: the store, the role and a first token pair
    assert response.status_code == 200, response.content
    body = response.json()
    store = store_a.store
    assert body == {
        "store": {
            "id": store.id,
            "name": "Магазин Альфа",
            "slug": store.slug,
            "schema_name": "tenant_test_alpha",
            "tenant_key": store.tenant_key,
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "prices_include_tax": True,
            "created_at": time_json(store.created_at),
        },
        "role": "cashier",
        "tokens": {"access": body["tokens"]["access"], "refresh": body["tokens"]["refresh"]},
    }
    assert body["store"] == store_json(store)
    # the account, with that password and name, a cashier here, with store history
    created = User.objects.get(email=NEW_EMAIL)
    assert (created.full_name, created.is_active, created.has_store_history) == (
        "Ольга",
        True,
        True,
    )
    assert created.check_password(NEW_PASSWORD)
    assert memberships_of(created) == [(store.id, "cashier", True)]
    after = rows()
    assert after["users"][: len(before["users"])] == before["users"]
    assert len(after["users"]) == len(before["users"]) + 1
    assert RefreshToken(body["tokens"]["refresh"])["user_id"] == str(created.id)


def test_a_new_members_tokens_work_in_the_store_at_once(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL, "cashier")
    tokens = accept(api_client, issued["token"], password=NEW_PASSWORD).json()["tokens"]

    # when
    client = in_store(tokens["access"], store_a.store)
    customers, store, staff = client.get(CUSTOMERS), client.get(STORE), client.get(STAFF)
    me = client.get(ME)

    # then: a cashier of store_a
    assert customers.status_code == 200
    assert store.status_code == 200
    assert store.json()["tenant_key"] == store_a.store.tenant_key
    assert staff.status_code == 403
    assert staff.json() == PERMISSION_DENIED
    assert me.json()["stores"] == [store_item(store_a.store, "cashier")]


def test_a_new_member_signs_in_with_the_password_they_chose(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL, "manager")
    assert accept(api_client, issued["token"], password=NEW_PASSWORD).status_code == 200

    # when
    client = sign_in(NEW_EMAIL, NEW_PASSWORD, store_a.store)

    # then: a manager, who may add registers but not see the staff
    assert client.post(REGISTERS, {"name": "Till 2"}).status_code == 201
    assert client.get(STAFF).json() == PERMISSION_DENIED


def test_a_new_account_without_a_name_has_an_empty_one(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)

    # when
    response = accept(api_client, issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 200
    assert User.objects.get(email=NEW_EMAIL).full_name == ""


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({}, {"password": ["Required to make your account."]}, id="no-password"),
        pytest.param(
            {"password": ""}, {"password": ["This field may not be blank."]}, id="blank-password"
        ),
        pytest.param(
            {"full_name": "Ольга"},
            {"password": ["Required to make your account."]},
            id="a-name-only",
        ),
    ],
)
def test_an_anonymous_new_email_without_a_password_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient, body: dict, errors: dict
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    before = rows()

    # when
    response = accept(api_client, issued["token"], **body)

    # then: and the invitation is still pending
    assert response.status_code == 400
    assert response.json() == errors
    assert rows() == before
    assert Invitation.objects.get().status == "pending"


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        pytest.param("password", ["This password is too common."], id="common"),
        pytest.param(
            "x7$k",
            ["This password is too short. It must contain at least 8 characters."],
            id="short",
        ),
        pytest.param("83920174", ["This password is entirely numeric."], id="numeric"),
        pytest.param("new.cashier", ["The password is too similar to the email."], id="like-email"),
    ],
)
def test_a_weak_password_is_400_and_makes_no_account(
    store_a: StoreWithStaff,
    client_for: ClientFor,
    api_client: APIClient,
    password: str,
    messages: list[str],
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    before = rows()

    # when
    response = accept(api_client, issued["token"], password=password)

    # then: no account, no member, and the invitation still pending
    assert response.status_code == 400
    assert response.json() == {"password": messages}
    assert rows() == before
    assert not User.objects.filter(email=NEW_EMAIL).exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({}, {"token": ["This field is required."]}, id="no-token"),
        pytest.param({"token": ""}, {"token": ["This field may not be blank."]}, id="blank-token"),
        pytest.param({"token": None}, {"token": ["This field may not be null."]}, id="null-token"),
        pytest.param(
            {"token": "x" * 101},
            {"token": ["Ensure this field has no more than 100 characters."]},
            id="long-token",
        ),
        pytest.param(
            {"password": NEW_PASSWORD, "full_name": "Я" * 201},
            {"full_name": ["Ensure this field has no more than 200 characters."]},
            id="long-name",
        ),
    ],
)
def test_bad_accept_input_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient, body: dict, errors: dict
) -> None:
    # given: a real token, sent along unless the case replaces it
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    before = rows()

    # when
    response = api_client.post(ACCEPT, {"token": issued["token"], **body} if body else {})

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert rows() == before


# --- POST /api/invitations/accept/: an existing account --------------------------------------


def test_a_signed_in_user_with_the_invited_email_joins(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: store_b's cashier, invited to store_a as a manager; a password and name sent along
    someone = store_b.cashier
    issued = invite(client_for(store_a.owner, store_a.store), someone.email.upper(), "manager")
    client = client_for(someone)
    users_before = rows()["users"]

    # when
    response = accept(client, issued["token"], password=NEW_PASSWORD, full_name="Someone Else")

    # then: joined, with no new tokens; the account unchanged but for its store history
    assert response.status_code == 200, response.content
    assert response.json() == {"store": store_json(store_a.store), "role": "manager"}
    assert memberships_of(someone) == sorted(
        [(store_a.store.id, "manager", True), (store_b.store.id, "cashier", True)]
    )
    assert rows()["users"] == [
        (*row[:5], True) if row[0] == someone.id else row for row in users_before
    ]
    someone.refresh_from_db()
    assert someone.check_password(DEFAULT_PASSWORD)
    assert not someone.check_password(NEW_PASSWORD)
    # and the token they had works in store_a at once, with a role in each store
    assert client_for(someone, store_a.store).get(CUSTOMERS).status_code == 200
    assert client.get(ME).json()["stores"] == sorted(
        [store_item(store_a.store, "manager"), store_item(store_b.store, "cashier")],
        key=lambda item: item["id"],
    )


def test_a_user_of_no_store_gets_store_history_by_joining(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    someone = UserFactory()
    assert someone.has_store_history is False
    issued = invite(client_for(store_a.owner, store_a.store), someone.email)

    # when
    response = accept(client_for(someone), issued["token"])

    # then
    assert response.status_code == 200
    assert User.objects.get(pk=someone.pk).has_store_history is True
    assert memberships_of(someone) == [(store_a.store.id, "cashier", True)]


def test_anonymous_with_an_email_that_has_an_account_must_sign_in_first(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: store_b's cashier is invited; the accept comes with no one signed in
    someone = store_b.cashier
    issued = invite(client_for(store_a.owner, store_a.store), someone.email)
    before = rows()

    # when
    responses = [
        accept(api_client, issued["token"]),
        accept(api_client, issued["token"], password=NEW_PASSWORD, full_name="Taken Over"),
    ]

    # then: 401, and nothing written; the invitation still works once they have signed in
    for response in responses:
        assert response.status_code == 401
        assert response.json() == SIGN_IN_FIRST
    assert rows() == before
    someone.refresh_from_db()
    assert someone.check_password(DEFAULT_PASSWORD)
    assert accept(client_for(someone), issued["token"]).status_code == 200


def test_the_sign_in_first_401_names_the_scheme(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), UserFactory().email)

    # when
    response = accept(api_client, issued["token"])

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_signed_in_user_with_another_email_is_400_and_writes_nothing(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: the invitation is for a new email; store_b's owner holds the token
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL, "owner")
    before = rows()

    # when
    response = accept(client_for(store_b.owner), issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 400
    assert response.json() == FOR_ANOTHER_EMAIL
    assert rows() == before
    assert memberships_of(store_b.owner) == [(store_b.store.id, "owner", True)]


def test_a_suspended_member_who_accepts_is_active_again_in_the_invited_role(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: the cashier was suspended, then invited back as a manager
    cashier = Membership.objects.get(store=store_a.store, user=store_a.cashier)
    owner = client_for(store_a.owner, store_a.store)
    assert owner.patch(f"{STAFF}{cashier.id}/", {"is_active": False}).status_code == 200
    issued = invite(owner, store_a.cashier.email, "manager")
    assert client_for(store_a.cashier, store_a.store).get(CUSTOMERS).json() == NOT_A_MEMBER

    # when
    response = accept(client_for(store_a.cashier), issued["token"])

    # then: the same membership, active, as a manager
    assert response.status_code == 200
    assert response.json() == {"store": store_json(store_a.store), "role": "manager"}
    assert list(
        Membership.objects.filter(user=store_a.cashier).values_list("id", "role", "is_active")
    ) == [(cashier.id, "manager", True)]
    assert client_for(store_a.cashier, store_a.store).get(CUSTOMERS).status_code == 200


def test_accepting_as_someone_who_became_an_active_member_meanwhile_is_409(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: the suspended cashier is invited as a manager, then reactivated as a cashier
    cashier = Membership.objects.get(store=store_a.store, user=store_a.cashier)
    owner = client_for(store_a.owner, store_a.store)
    assert owner.patch(f"{STAFF}{cashier.id}/", {"is_active": False}).status_code == 200
    issued = invite(owner, store_a.cashier.email, "manager")
    assert owner.patch(f"{STAFF}{cashier.id}/", {"is_active": True}).status_code == 200
    before = rows()

    # when
    response = accept(client_for(store_a.cashier), issued["token"])

    # then: nothing changed, the invitation is still pending
    assert response.status_code == 409
    assert response.json() == ALREADY_A_MEMBER
    assert rows() == before


# --- POST /api/invitations/accept/: tokens that do not work ----------------------------------


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_a_used_token_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient, signed_in: bool
) -> None:
    # given: accepted once, by the invited user
    someone = UserFactory()
    issued = invite(client_for(store_a.owner, store_a.store), someone.email)
    assert accept(client_for(someone), issued["token"]).status_code == 200
    before = rows()

    # when: accepted again, by them or anonymously
    client = client_for(someone) if signed_in else api_client
    response = accept(client, issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 400
    assert response.json() == INVITATION_INVALID
    assert rows() == before


def test_a_used_token_cannot_make_a_second_account(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given: a new account made with the token
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    assert accept(api_client, issued["token"], password=NEW_PASSWORD).status_code == 200
    before = rows()

    # when
    response = accept(api_client, issued["token"], password="another long passphrase")

    # then
    assert response.status_code == 400
    assert response.json() == INVITATION_INVALID
    assert rows() == before
    assert User.objects.get(email=NEW_EMAIL).check_password(NEW_PASSWORD)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous-new-email", "signed-in"])
def test_an_expired_token_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient, signed_in: bool
) -> None:
    # given
    someone = UserFactory()
    email = someone.email if signed_in else NEW_EMAIL
    issued = invite(client_for(store_a.owner, store_a.store), email)
    expire(issued["id"])
    before = rows()

    # when
    client = client_for(someone) if signed_in else api_client
    response = accept(client, issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 400
    assert response.json() == INVITATION_INVALID
    assert rows() == before


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("x" * 43, id="made-up"),
        pytest.param("a", id="short"),
        pytest.param("x" * 100, id="longest"),
    ],
)
def test_an_unknown_token_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient, token: str
) -> None:
    # given: a real invitation, whose token is not the one sent
    invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    before = rows()

    # when
    response = accept(api_client, token, password=NEW_PASSWORD)

    # then
    assert response.status_code == 400
    assert response.json() == INVITATION_INVALID
    assert rows() == before


def test_a_token_of_a_deactivated_store_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    Store.objects.filter(pk=store_a.store.pk).update(is_active=False)
    before = rows()

    # when
    response = accept(api_client, issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 400
    assert response.json() == INVITATION_INVALID
    assert rows() == before


def test_a_bad_bearer_token_is_401_even_on_the_public_endpoint(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    before = rows()

    # when
    response = accept(api_client, issued["token"], password=NEW_PASSWORD)

    # then
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert rows() == before


# --- the invitation itself: status, accepted_at, accepted_by ---------------------------------

NOON = datetime.fromisoformat("2026-03-01T12:00:00+00:00")


@pytest.mark.parametrize(
    ("case", "status"),
    [
        pytest.param({"expires_in": timedelta(days=7)}, "pending", id="future"),
        pytest.param({"expires_in": timedelta(microseconds=1)}, "pending", id="just-before"),
        pytest.param({"expires_in": timedelta(0)}, "expired", id="at-expiry"),
        pytest.param({"expires_in": -timedelta(days=1)}, "expired", id="past"),
        pytest.param(
            {"expires_in": timedelta(days=7), "accepted": True}, "accepted", id="accepted"
        ),
        pytest.param(
            {"expires_in": -timedelta(days=1), "accepted": True},
            "accepted",
            id="accepted-then-expired",
        ),
    ],
)
def test_an_invitations_status(monkeypatch: pytest.MonkeyPatch, case: dict, status: str) -> None:
    # given: a fixed clock
    monkeypatch.setattr(models, "now", lambda: NOON)
    invitation = Invitation(
        email=NEW_EMAIL,
        role="cashier",
        expires_at=NOON + case["expires_in"],
        accepted_at=NOON - timedelta(hours=1) if case.get("accepted") else None,
    )

    # when / then
    assert invitation.status == status
    assert invitation.status in Invitation.Status.values


def test_accepting_records_when_and_by_whom(
    store_a: StoreWithStaff, client_for: ClientFor, api_client: APIClient
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), NEW_EMAIL, "manager")
    started = now()

    # when
    assert accept(api_client, issued["token"], password=NEW_PASSWORD).status_code == 200

    # then
    finished = now()
    invitation = Invitation.objects.get(pk=issued["id"])
    created = User.objects.get(email=NEW_EMAIL)
    assert invitation.accepted_by_id == created.id
    assert started <= invitation.accepted_at <= finished
    assert invitation.status == "accepted"
    assert (invitation.email, invitation.role, invitation.invited_by_id) == (
        NEW_EMAIL,
        "manager",
        store_a.owner.id,
    )


def test_a_signed_in_acceptance_records_that_user(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    issued = invite(client_for(store_a.owner, store_a.store), store_b.manager.email)

    # when
    assert accept(client_for(store_b.manager), issued["token"]).status_code == 200

    # then
    invitation = Invitation.objects.get(pk=issued["id"])
    assert invitation.accepted_by_id == store_b.manager.id
    assert invitation.accepted_at is not None
    listed = client_for(store_a.owner, store_a.store).get(INVITATIONS).json()["results"]
    assert listed == [invitation_json(invitation)]
    assert listed[0]["status"] == "accepted"


# --- the services, and acceptances at the same time ------------------------------------------


def test_invitation_create_refuses_an_unknown_role(store_a: StoreWithStaff) -> None:
    # given: the service is the write boundary for callers other than the API
    before = rows()

    # when
    with pytest.raises(ValidationError) as raised:
        services.invitation_create(
            store=store_a.store, email=NEW_EMAIL, role="boss", invited_by=store_a.owner
        )

    # then
    assert raised.value.message_dict == {"role": ["'boss' is not one of owner, manager, cashier."]}
    assert rows() == before


def test_invitation_revoke_deletes_the_invitation_only(store_a: StoreWithStaff) -> None:
    # given
    issued = services.invitation_create(
        store=store_a.store, email=NEW_EMAIL, role="cashier", invited_by=store_a.owner
    )
    before = rows()

    # when
    services.invitation_revoke(invitation=issued.invitation)

    # then
    after = rows()
    assert after == {**before, "invitations": []}


def _run_together(*actions: Callable[[], None]) -> list[str]:
    """Run the actions in threads started together; each one's outcome (`ok` or a code)."""
    start = threading.Barrier(len(actions), timeout=10)
    outcomes = [""] * len(actions)

    def run(index: int, action: Callable[[], None]) -> None:
        try:
            start.wait()
            action()
            outcomes[index] = "ok"
        except DomainError as error:
            outcomes[index] = error.default_code
        except Exception as error:  # the outcome, whatever it is, is what the test asserts
            outcomes[index] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.mark.parametrize("signed_in", [False, True], ids=["new-account", "signed-in"])
@pytest.mark.usefixtures("committed_stores")
def test_one_token_accepted_twice_at_once_joins_once(signed_in: bool) -> None:
    # given: a committed store and an invitation, accepted by two requests at once (a double
    # tap on the link)
    staffed = make_store(STORE_SCHEMAS[0], name="Concurrent Shop")
    someone = UserFactory() if signed_in else None
    email = someone.email if someone else NEW_EMAIL
    issued = services.invitation_create(
        store=staffed.store, email=email, role="cashier", invited_by=staffed.owner
    )

    def join() -> None:
        # Each thread loads its own copy of the user, as each request would.
        user = User.objects.get(pk=someone.pk) if someone else None
        services.invitation_accept(token=issued.token, user=user, password=NEW_PASSWORD)

    # when
    outcomes = _run_together(join, join)

    # then: one account, one membership; the second request told the token is used
    assert sorted(outcomes) == ["invitation_invalid", "ok"]
    joined = User.objects.get(email=email)
    assert memberships_of(joined) == [(staffed.store.id, "cashier", True)]
    invitation = Invitation.objects.get(pk=issued.invitation.pk)
    assert invitation.accepted_by_id == joined.id


@pytest.mark.usefixtures("committed_stores")
def test_inviting_the_same_email_twice_at_once_leaves_one_pending_invitation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a committed store, and two invitations of one email at once (a double click),
    # both past the "delete the pending one" step before either has inserted its own
    staffed = make_store(STORE_SCHEMAS[0], name="Concurrent Shop")
    both_deleted = threading.Barrier(2, timeout=1)
    create = Invitation.objects.create

    def wait_for_the_other_then_create(**fields: object) -> Invitation:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_deleted.wait()
        return create(**fields)

    monkeypatch.setattr(Invitation.objects, "create", wait_for_the_other_then_create)

    def invite_once() -> None:
        services.invitation_create(
            store=staffed.store, email=NEW_EMAIL, role="cashier", invited_by=staffed.owner
        )

    # when
    _run_together(invite_once, invite_once)

    # then: one token alive, as after two invitations one after the other
    assert Invitation.objects.filter(email=NEW_EMAIL, accepted_at__isnull=True).count() == 1


def test_a_members_token_made_before_they_joined_works_after(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a user of another store signed in before being invited
    someone = MembershipFactory(role="cashier").user
    token = access_token(someone)
    issued = invite(client_for(store_a.owner, store_a.store), someone.email, "cashier")
    refused = in_store(token, store_a.store).get(CUSTOMERS)
    assert refused.status_code == 403
    assert refused.json() == NOT_A_MEMBER

    # when
    assert accept(client_for(someone), issued["token"]).status_code == 200

    # then
    assert in_store(token, store_a.store).get(CUSTOMERS).status_code == 200

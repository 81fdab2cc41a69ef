"""The staff and store-settings services: membership_create, staff_update, staff_remove,
store_update.

Invitations (invitation_create, invitation_accept, invitation_revoke) are in test_invitations.py.
"""

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from stores import services
from stores.exceptions import AlreadyAMember, LastOwner
from stores.models import Membership, Store, User
from stores.services import staff as staff_services
from stores.tenancy import store_for_tenant_key
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store
from tests.factories import MembershipFactory, UserFactory

Role = Membership.Role


def membership_of(staffed: StoreWithStaff, role: str) -> Membership:
    return Membership.objects.get(store=staffed.store, user=staffed.member(role))


def staff_of(store: Store) -> list[tuple[int, int, str, bool]]:
    """The store's memberships as stored: (id, user id, role, is_active), oldest first."""
    return list(
        Membership.objects.filter(store=store)
        .order_by("id")
        .values_list("id", "user_id", "role", "is_active")
    )


def users() -> list[tuple[int, str, str, str]]:
    return list(User.objects.order_by("id").values_list("id", "email", "full_name", "password"))


def store_row(store: Store) -> dict:
    return Store.objects.filter(pk=store.pk).values().get()


def active_owners(store: Store) -> list[int]:
    return list(
        Membership.objects.filter(store=store, role=Role.OWNER, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


# --- membership_create -----------------------------------------------------------------------


def test_membership_create_makes_a_user_a_member_with_store_history(
    store_a: StoreWithStaff,
) -> None:
    # given: a user of no store
    someone = UserFactory()
    staff_before, users_before = staff_of(store_a.store), users()
    assert someone.has_store_history is False

    # when
    membership = services.membership_create(store=store_a.store, user=someone, role=Role.MANAGER)

    # then
    assert staff_of(store_a.store) == [
        *staff_before,
        (membership.id, someone.id, "manager", True),
    ]
    assert users() == users_before
    assert someone.has_store_history is True
    assert User.objects.get(pk=someone.pk).has_store_history is True


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_membership_create_refuses_an_active_member(store_a: StoreWithStaff, role: str) -> None:
    # given
    staff_before = staff_of(store_a.store)

    # when / then: with another role, so a silent update would show
    with pytest.raises(AlreadyAMember):
        services.membership_create(
            store=store_a.store,
            user=store_a.member(role),
            role=Role.CASHIER if role != "cashier" else Role.OWNER,
        )
    assert staff_of(store_a.store) == staff_before


def test_membership_create_reactivates_a_suspended_member_with_the_new_role(
    store_a: StoreWithStaff,
) -> None:
    # given
    cashier = membership_of(store_a, "cashier")
    services.staff_update(membership=cashier, is_active=False)
    staff_before = staff_of(store_a.store)

    # when
    membership = services.membership_create(
        store=store_a.store, user=store_a.cashier, role=Role.MANAGER
    )

    # then: the same row, active again
    assert membership.id == cashier.id
    assert staff_of(store_a.store) == [
        (row[0], row[1], "manager", True) if row[0] == cashier.id else row for row in staff_before
    ]


def test_membership_create_refuses_an_unknown_role(
    store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given: the API's serializers check the role; the service is the write boundary for every
    # other caller (commands, admin, other services) and must not store a role nobody knows
    staff_before = staff_of(store_a.store)
    someone = store_b.cashier

    # when
    with pytest.raises(ValidationError) as raised:
        services.membership_create(store=store_a.store, user=someone, role="Owner")

    # then
    assert raised.value.message_dict == {"role": ["'Owner' is not one of owner, manager, cashier."]}
    assert staff_of(store_a.store) == staff_before


# --- staff_update ----------------------------------------------------------------------------


def test_staff_update_changes_the_role_and_the_activity(store_a: StoreWithStaff) -> None:
    # given
    cashier = membership_of(store_a, "cashier")

    # when
    promoted = services.staff_update(membership=cashier, role=Role.MANAGER)
    suspended = services.staff_update(membership=cashier, is_active=False)

    # then
    assert (promoted.role, suspended.is_active) == ("manager", False)
    cashier.refresh_from_db()
    assert (cashier.role, cashier.is_active) == ("manager", False)


def test_staff_update_with_nothing_changes_nothing(store_a: StoreWithStaff) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when
    services.staff_update(membership=owner)

    # then
    assert staff_of(store_a.store) == staff_before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"role": Role.MANAGER}, id="demote-to-manager"),
        pytest.param({"role": Role.CASHIER}, id="demote-to-cashier"),
        pytest.param({"is_active": False}, id="deactivate"),
        pytest.param({"role": Role.OWNER, "is_active": False}, id="deactivate-as-owner"),
    ],
)
def test_staff_update_keeps_the_last_owner(store_a: StoreWithStaff, change: dict) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when / then
    with pytest.raises(LastOwner):
        services.staff_update(membership=owner, **change)
    assert staff_of(store_a.store) == staff_before


def test_staff_update_lets_the_last_owner_stay_an_owner(store_a: StoreWithStaff) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when
    services.staff_update(membership=owner, role=Role.OWNER, is_active=True)

    # then
    assert staff_of(store_a.store) == staff_before


def test_staff_update_demotes_one_of_two_owners_but_not_the_second(
    store_a: StoreWithStaff,
) -> None:
    # given
    first = membership_of(store_a, "owner")
    second = MembershipFactory(store=store_a.store, role=Role.OWNER)

    # when
    services.staff_update(membership=first, role=Role.MANAGER)

    # then
    assert active_owners(store_a.store) == [second.id]
    staff_before = staff_of(store_a.store)
    with pytest.raises(LastOwner):
        services.staff_update(membership=second, role=Role.MANAGER)
    assert staff_of(store_a.store) == staff_before


def test_staff_update_does_not_count_suspended_owners_or_other_stores_owners(
    store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given: a suspended second owner here, an active owner in store_b
    owner = membership_of(store_a, "owner")
    MembershipFactory(store=store_a.store, role=Role.OWNER, is_active=False)
    MembershipFactory(store=store_b.store, user=store_a.owner, role=Role.OWNER)
    staff_before = staff_of(store_a.store)

    # when / then
    with pytest.raises(LastOwner):
        services.staff_update(membership=owner, role=Role.CASHIER)
    assert staff_of(store_a.store) == staff_before


def test_staff_update_may_change_a_suspended_owner(store_a: StoreWithStaff) -> None:
    # given: the only active owner stays; a suspended one is demoted
    suspended = MembershipFactory(store=store_a.store, role=Role.OWNER, is_active=False)

    # when
    services.staff_update(membership=suspended, role=Role.CASHIER)

    # then
    suspended.refresh_from_db()
    assert (suspended.role, suspended.is_active) == ("cashier", False)
    assert active_owners(store_a.store) == [membership_of(store_a, "owner").id]


def test_staff_update_refuses_an_unknown_role(store_a: StoreWithStaff) -> None:
    # given
    cashier = membership_of(store_a, "cashier")
    staff_before = staff_of(store_a.store)

    # when
    with pytest.raises(ValidationError) as raised:
        services.staff_update(membership=cashier, role="boss")

    # then
    assert raised.value.message_dict == {"role": ["'boss' is not one of owner, manager, cashier."]}
    assert staff_of(store_a.store) == staff_before


# --- staff_remove ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_staff_remove_removes_the_membership_only(store_a: StoreWithStaff, role: str) -> None:
    # given
    membership = membership_of(store_a, role)
    removed_id = membership.id
    staff_before, users_before = staff_of(store_a.store), users()

    # when
    services.staff_remove(membership=membership)

    # then
    assert staff_of(store_a.store) == [row for row in staff_before if row[0] != removed_id]
    assert users() == users_before


def test_staff_remove_keeps_the_last_owner(store_a: StoreWithStaff) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when / then
    with pytest.raises(LastOwner):
        services.staff_remove(membership=owner)
    assert staff_of(store_a.store) == staff_before


def test_staff_remove_removes_one_of_two_owners(store_a: StoreWithStaff) -> None:
    # given
    second = MembershipFactory(store=store_a.store, role=Role.OWNER)

    # when
    services.staff_remove(membership=membership_of(store_a, "owner"))

    # then
    assert active_owners(store_a.store) == [second.id]


def test_staff_remove_removes_a_suspended_owner(store_a: StoreWithStaff) -> None:
    # given
    suspended = MembershipFactory(store=store_a.store, role=Role.OWNER, is_active=False)

    # when
    services.staff_remove(membership=suspended)

    # then
    assert not Membership.objects.filter(pk=suspended.pk).exists()
    assert active_owners(store_a.store) == [membership_of(store_a, "owner").id]


# --- store_update ----------------------------------------------------------------------------


def test_store_update_changes_the_settings(store_a: StoreWithStaff) -> None:
    # given
    before = store_row(store_a.store)

    # when
    updated = services.store_update(
        store=store_a.store,
        name="  Новое имя  ",
        timezone="Asia/Yekaterinburg",
        prices_include_tax=False,
        allow_negative_stock=True,
    )

    # then
    expected = {
        **before,
        "name": "Новое имя",
        "timezone": "Asia/Yekaterinburg",
        "prices_include_tax": False,
        "allow_negative_stock": True,
    }
    assert store_row(store_a.store) == expected
    assert (updated.name, updated.timezone) == ("Новое имя", "Asia/Yekaterinburg")


def test_store_update_leaves_what_is_not_given(store_a: StoreWithStaff) -> None:
    # given
    before = store_row(store_a.store)

    # when
    services.store_update(store=store_a.store, allow_negative_stock=True)

    # then
    assert store_row(store_a.store) == {**before, "allow_negative_stock": True}


def test_store_update_with_nothing_changes_nothing(store_a: StoreWithStaff) -> None:
    # given
    before = store_row(store_a.store)

    # when
    services.store_update(store=store_a.store)

    # then
    assert store_row(store_a.store) == before


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        pytest.param({"name": ""}, {"name": ["A store needs a name."]}, id="blank-name"),
        pytest.param({"name": "  "}, {"name": ["A store needs a name."]}, id="spaces-name"),
        pytest.param(
            {"timezone": "Europe/Atlantis"},
            {"timezone": ["'Europe/Atlantis' is not an IANA time zone."]},
            id="bad-timezone",
        ),
        pytest.param(
            {"name": "Fine", "prices_include_tax": False, "timezone": "Nowhere"},
            {"timezone": ["'Nowhere' is not an IANA time zone."]},
            id="one-bad-field-spoils-all",
        ),
    ],
)
def test_store_update_refuses_bad_settings(
    store_a: StoreWithStaff, change: dict, errors: dict
) -> None:
    # given
    before = store_row(store_a.store)

    # when
    with pytest.raises(ValidationError) as raised:
        services.store_update(store=store_a.store, **change)

    # then
    assert raised.value.message_dict == errors
    assert store_row(store_a.store) == before


def test_store_update_refreshes_the_tenant_key_cache(store_a: StoreWithStaff) -> None:
    # given: the key's store is cached
    key = store_a.store.tenant_key
    assert store_for_tenant_key(key).name == "Магазин Альфа"

    # when
    services.store_update(store=store_a.store, name="Renamed", prices_include_tax=False)

    # then
    cached = store_for_tenant_key(key)
    assert (cached.name, cached.prices_include_tax) == ("Renamed", False)


# --- concurrency -----------------------------------------------------------------------------


def _demote(membership: Membership) -> None:
    services.staff_update(membership=membership, role=Role.MANAGER)


def _deactivate(membership: Membership) -> None:
    services.staff_update(membership=membership, is_active=False)


def _remove(membership: Membership) -> None:
    services.staff_remove(membership=membership)


def _run_together(*actions: Callable[[], None]) -> list[str]:
    """Run the actions in threads started together; each one's outcome, in order."""
    start = threading.Barrier(len(actions), timeout=10)
    outcomes = [""] * len(actions)

    def run(index: int, action: Callable[[], None]) -> None:
        try:
            start.wait()
            action()
            outcomes[index] = "ok"
        except LastOwner:
            outcomes[index] = "last_owner"
        except AlreadyAMember:
            outcomes[index] = "already_a_member"
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


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(_demote, _demote, id="demote-both"),
        pytest.param(_demote, _deactivate, id="demote-and-deactivate"),
        pytest.param(_remove, _demote, id="remove-and-demote"),
        pytest.param(_remove, _remove, id="remove-both"),
    ],
)
@pytest.mark.usefixtures("committed_stores")
def test_two_owners_leaving_at_once_leave_exactly_one_owner(
    monkeypatch: pytest.MonkeyPatch,
    first: Callable[[Membership], None],
    second: Callable[[Membership], None],
) -> None:
    # given: a committed store with two owners, each about to be demoted, suspended or removed
    staffed = make_store(STORE_SCHEMAS[0], name="Concurrent Shop")
    owners = [
        membership_of(staffed, "owner"),
        MembershipFactory(store=staffed.store, role=Role.OWNER),
    ]
    # Each transaction waits, once it has read the owners, until the other has read them too:
    # without the row locks both would see two owners and both go. With them, the second
    # waits on the locks instead, the first gives up waiting, and the second then sees one.
    both_read = threading.Barrier(2, timeout=1)
    read_owners = staff_services.owner_memberships_for_update

    def read_then_wait_for_the_other(*, store: Store) -> list[Membership]:
        found = list(read_owners(store=store))
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return found

    monkeypatch.setattr(
        staff_services, "owner_memberships_for_update", read_then_wait_for_the_other
    )

    def act(action: Callable[[Membership], None], owner_id: int) -> Callable[[], None]:
        # Each thread loads its own copy, as each request would.
        return lambda: action(Membership.objects.select_related("store").get(pk=owner_id))

    # when
    outcomes = _run_together(act(first, owners[0].id), act(second, owners[1].id))

    # then: exactly one went, and the store keeps exactly one active owner: the other one
    assert sorted(outcomes) == ["last_owner", "ok"]
    survivor = owners[outcomes.index("last_owner")]
    assert active_owners(staffed.store) == [survivor.id]


@pytest.mark.parametrize(
    "has_store_history",
    [
        # Both wait on the user's row (its store history is being set): the second then finds
        # the first's membership.
        pytest.param(False, id="user-of-no-store"),
        # Nothing to wait on: both insert, and the second is refused by the unique constraint.
        pytest.param(True, id="user-staff-elsewhere"),
    ],
)
@pytest.mark.usefixtures("committed_stores")
def test_making_the_same_member_twice_at_once_makes_them_once(
    monkeypatch: pytest.MonkeyPatch, has_store_history: bool
) -> None:
    # given: a committed store and a user, made a member by two requests at once (two
    # invitations accepted at the same moment), both past the "is there a membership?" check
    # before either has inserted one
    staffed = make_store(STORE_SCHEMAS[0], name="Concurrent Shop")
    someone = UserFactory()
    User.objects.filter(pk=someone.pk).update(has_store_history=has_store_history)
    both_checked = threading.Barrier(2, timeout=1)
    create = Membership.objects.create

    def wait_for_the_other_then_create(**fields: object) -> Membership:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()
        return create(**fields)

    monkeypatch.setattr(Membership.objects, "create", wait_for_the_other_then_create)

    def add() -> None:
        # Each thread loads its own copy, as each request would.
        services.membership_create(
            store=staffed.store, user=User.objects.get(pk=someone.pk), role=Role.CASHIER
        )

    # when
    outcomes = _run_together(add, add)

    # then: one membership, and the second request told so (409), not a database error (500)
    assert sorted(outcomes) == ["already_a_member", "ok"]
    assert list(
        Membership.objects.filter(store=staffed.store, user=someone).values_list(
            "role", "is_active"
        )
    ) == [("cashier", True)]
    assert User.objects.get(pk=someone.pk).has_store_history is True

"""factory_boy factories for the shared tables."""

import factory

from stores.models import Membership, Store, User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    # Hashed as the row is built: one INSERT, not an INSERT and an UPDATE.
    password = factory.django.Password(DEFAULT_PASSWORD)


class StoreFactory(factory.django.DjangoModelFactory):
    """A store row on an existing schema (the test run creates the schemas once)."""

    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Test Store {n}")
    slug = factory.Sequence(lambda n: f"test-store-{n}")
    schema_name = factory.Sequence(lambda n: f"tenant_test_store_{n}")
    tenant_key = factory.LazyAttributeSequence(lambda o, n: f"{o.slug.replace('-', '_')}_{n:08x}")
    currency = "EUR"
    timezone = "Europe/Berlin"
    prices_include_tax = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    # A member has store history (Membership.save would mark it otherwise, one query more).
    user = factory.SubFactory(UserFactory, has_store_history=True)
    store = factory.SubFactory(StoreFactory)
    role = Membership.Role.OWNER

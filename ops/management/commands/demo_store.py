"""`manage.py demo_store`: a demo store with its owner, made once, for local runs."""

from django.core.management.base import BaseCommand, CommandParser

from onboarding.services import store_signup
from ops.demo.data import DEMO_EMAIL, DEMO_PASSWORD, DEMO_STORE_NAME
from stores.models import Membership, User


class Command(BaseCommand):
    help = "Create the demo store and its owner (once) and print how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args: object, **options: str) -> None:
        email, password = options["email"], options["password"]
        owner = User.objects.filter(email=User.objects.normalize_email(email)).first()
        membership = (
            Membership.objects.filter(user=owner, role=Membership.Role.OWNER)
            .select_related("store")
            .first()
            if owner
            else None
        )
        if membership is None:
            signup = store_signup(
                user=owner,
                name=DEMO_STORE_NAME,
                currency="EUR",
                timezone="Europe/Berlin",
                prices_include_tax=True,
                owner_email=email,
                owner_password=password,
                owner_full_name="Demo Owner",
            )
            store = signup.store
            self.stdout.write(self.style.SUCCESS(f"Created the demo store {store.name!r}."))
        else:
            store = membership.store
            self.stdout.write(f"The demo store {store.name!r} exists already.")
        self.stdout.write(
            f'  sign in:      POST /api/auth/token/ {{"email": "{email}", '
            f'"password": "{password}"}}\n'
            f"  X-Tenant-Key: {store.tenant_key}\n"
            f"  API docs:     http://127.0.0.1:8000/api/docs/"
        )

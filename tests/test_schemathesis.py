"""schemathesis over the whole API, against gunicorn serving the test database.

Authenticated as a store's owner with its key, every operation of /api/schema/ gets generated
requests, valid ones and, in schemathesis' negative mode, ones that break the schema (wrong
types, values past every bound, missing fields). The standard checks (no server error,
documented status codes, content types, headers and bodies that match the schema) must all
pass, and no answer may take more than `MAX_RESPONSE_SECONDS`. Bounded for CI by
`SCHEMATHESIS_EXAMPLES` (default 5 per operation and mode); raise it for a longer run.
"""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from catalog.services import category_create, product_create, stock_adjust
from customers.services import customer_create
from ops.serving import gunicorn
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open
from tests.conftest import access_token, make_store
from tests.test_celery_worker import url_of_the_test_database

ROOT = Path(__file__).resolve().parent.parent
MAX_RESPONSE_SECONDS = "3"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


@pytest.mark.usefixtures("committed_stores")
def test_the_api_conforms_to_its_schema():
    staffed = make_store("tenant_test_alpha", name="Schemathesis Shop")
    with tenant_context(staffed.store):
        category = category_create(name="Drinks")
        product = product_create(
            name="Water",
            sku="W-1",
            barcode="4000000000017",
            price=Decimal("1.50"),
            tax_rate=Decimal("7"),
            category=category,
        )
        stock_adjust(product=product, delta=Decimal("100"), reason="restock", user=staffed.owner)
        customer = customer_create(name="Anna", phone="+491700000000", email="anna@example.com")
        shift_open(register_id=staffed.register.pk, opening_cash=Decimal("50"), user=staffed.owner)
        sale_checkout(
            user=staffed.owner,
            role="owner",
            register_id=staffed.register.pk,
            customer_id=customer.pk,
            lines=[LineInput(product_id=product.pk, quantity=Decimal("2"))],
            payments=[PaymentInput(method="cash", amount=Decimal("5.00"))],
        )
    environment = {
        "SECRET_KEY": settings.SECRET_KEY,  # the tokens are signed with it
        "DATABASE_URL": url_of_the_test_database(),
        "THROTTLE_SIGNUP": "off",
        "THROTTLE_LOGIN": "off",
        "THROTTLE_ANON": "off",
        "THROTTLE_USER": "off",
        "CONN_MAX_AGE": "0",
        "STORE_SPARE_SCHEMAS": "0",
    }
    with gunicorn(environment, threads=1) as port:
        run = subprocess.run(  # noqa: S603 - the installed schemathesis, fixed arguments
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"http://127.0.0.1:{port}/api/schema/?format=json",
                "--header",
                f"Authorization: Bearer {access_token(staffed.owner)}",
                "--header",
                f"X-Tenant-Key: {staffed.store.tenant_key}",
                "--max-examples",
                os.environ.get("SCHEMATHESIS_EXAMPLES", "5"),
                "--phases",
                "examples,fuzzing",
                "--mode",
                "all",
                "--max-response-time",
                MAX_RESPONSE_SECONDS,
                "--checks",
                CHECKS,
                "--request-timeout",
                "20",
                "--generation-deterministic",
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " generated, " in run.stdout, run.stdout[-2000:]

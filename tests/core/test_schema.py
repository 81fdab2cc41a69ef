"""Tests of the OpenAPI schema: valid, served, and saying what the contract says."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient

# The paths of the REST contract implemented so far; path parameters are written `{}`.
CONTRACT_PATHS = (
    "/api/stores/signup/",
    "/api/auth/token/",
    "/api/auth/token/refresh/",
    "/api/auth/logout/",
    "/api/me/",
    "/api/stores/",
    "/api/health/",
    "/api/store/",
    "/api/staff/",
    "/api/staff/{}/",
    "/api/staff/invitations/",
    "/api/staff/invitations/{}/",
    "/api/invitations/accept/",
    "/api/catalog/categories/",
    "/api/catalog/categories/{}/",
    "/api/catalog/products/",
    "/api/catalog/products/{}/",
    "/api/catalog/products/{}/adjust-stock/",
    "/api/catalog/stock-movements/",
    "/api/customers/",
    "/api/customers/{}/",
    "/api/customers/{}/sales/",
    "/api/sales/registers/",
    "/api/sales/registers/{}/",
    "/api/sales/shifts/",
    "/api/sales/shifts/{}/",
    "/api/sales/shifts/{}/close/",
    "/api/sales/",
    "/api/sales/{}/",
    "/api/sales/{}/refund/",
    "/api/analytics/summary/",
    "/api/analytics/regenerate/",
    "/api/jobs/",
    "/api/jobs/{}/",
)
PUBLIC_PREFIXES = (
    "/api/stores/",
    "/api/auth/",
    "/api/me/",
    "/api/health/",
    "/api/invitations/",
)
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
REGISTER_ROLES = "Roles: read owner, manager, cashier; write owner, manager."
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@pytest.fixture
def schema(served_schema: dict) -> dict:
    return served_schema


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_schema_is_valid_openapi_without_warnings(tmp_path: Path, db: None) -> None:
    # given
    target = tmp_path / "schema.yaml"

    # when
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    # then
    written = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert written["openapi"].startswith("3.")
    assert set(CONTRACT_PATHS) <= {re.sub(r"\{[^}]*\}", "{}", path) for path in written["paths"]}


def test_schema_passes_the_openapi_spec_validator(schema: dict) -> None:
    """What a client generator reads first: a default of the wrong type, a `$ref` to nowhere…"""
    validate(schema)


def test_every_component_is_described_for_its_readers(schema: dict) -> None:
    """Each component has words of its own: none left blank, and none sharing a description with
    a component of another serializer (as a base class's docstring did, inherited by all)."""
    components = schema["components"]["schemas"]
    undescribed = [
        name for name, component in components.items() if not component.get("description")
    ]
    by_description: dict[str, set[str]] = {}
    for name, component in components.items():
        base = re.sub(r"^Patched|Request$", "", name)  # a request half shares its response's words
        by_description.setdefault(component.get("description", ""), set()).add(base)
    shared = {words: names for words, names in by_description.items() if len(names) > 1}

    assert undescribed == []
    assert shared == {}


def test_schema_is_served_as_json_to_anyone(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    body = response.json()
    assert body["openapi"].startswith("3.")
    assert body["info"]["title"] == "Kassa API"
    assert body["info"]["version"] == "1.0.0"


def test_schema_is_served_as_yaml_by_default(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get("/api/schema/")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_are_html_pages_reading_the_schema(api_client: APIClient, db: None, url: str) -> None:
    # when
    response = api_client.get(url)

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/schema/" in response.content


def test_schema_has_every_contract_path(schema: dict) -> None:
    # then
    documented = {re.sub(r"\{[^}]*\}", "{}", path) for path in schema["paths"]}
    missing = [path for path in CONTRACT_PATHS if path not in documented]
    assert missing == []


def test_every_path_lives_under_api_with_a_trailing_slash(schema: dict) -> None:
    # then
    wrong = [path for path in schema["paths"] if not (path.startswith("/api/") and path[-1] == "/")]
    assert wrong == []


def test_schema_declares_the_bearer_and_tenant_key_schemes(schema: dict) -> None:
    # then
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert {key: schemes["tenantKey"][key] for key in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Tenant-Key",
    }


def test_store_scoped_operations_need_a_token_and_the_tenant_key_together(schema: dict) -> None:
    # given
    store_scoped = [op for op in operations(schema) if not op[0].startswith(PUBLIC_PREFIXES)]
    assert len(store_scoped) > 30

    # then: every way to call them carries both (no requirement without the tenant key)
    for path, method, operation in store_scoped:
        requirements = operation.get("security")
        assert requirements, (method, path)
        for requirement in requirements:
            assert {"jwtAuth", "tenantKey"} <= set(requirement), (method, path, requirement)


def test_store_scoped_operations_document_the_tenancy_errors(schema: dict) -> None:
    # then
    for path, method, operation in operations(schema):
        if path.startswith(PUBLIC_PREFIXES):
            continue
        for status in ("400", "401", "403", "404"):
            assert operation["responses"][status]["content"] == ERROR_CONTENT, (
                method,
                path,
                status,
            )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/stores/signup/", "post"),
        ("/api/auth/token/", "post"),
        ("/api/auth/token/refresh/", "post"),
        ("/api/auth/logout/", "post"),
        ("/api/me/", "get"),
        ("/api/stores/", "get"),
        ("/api/health/", "get"),
    ],
)
def test_public_operations_do_not_need_the_tenant_key(schema: dict, path: str, method: str) -> None:
    # then
    requirements = schema["paths"][path][method].get("security", [])
    assert all("tenantKey" not in requirement for requirement in requirements)


def test_signup_and_health_need_no_credentials(schema: dict) -> None:
    # then: signup with or without a Bearer token; health without anything
    assert schema["paths"]["/api/stores/signup/"]["post"]["security"] == [{"jwtAuth": []}, {}]
    assert schema["paths"]["/api/health/"]["get"].get("security", []) in ([], [{}])
    assert "security" not in schema  # no global requirement that operations would inherit


def test_me_and_stores_need_a_bearer_token(schema: dict) -> None:
    # then
    for path in ("/api/me/", "/api/stores/"):
        operation = schema["paths"][path]["get"]
        assert operation["security"] == [{"jwtAuth": []}]
        assert operation["responses"]["401"]["content"] == ERROR_CONTENT


def test_register_operations_say_which_roles_may_call_them(schema: dict) -> None:
    # given
    register_operations = [op for op in operations(schema) if "/registers/" in op[0]]
    assert len(register_operations) == 6

    # then
    for path, method, operation in register_operations:
        assert REGISTER_ROLES in operation["description"], (method, path)


def test_health_documents_its_200_and_503(schema: dict) -> None:
    # then
    responses = schema["paths"]["/api/health/"]["get"]["responses"]
    assert set(responses) == {"200", "503"}
    health = schema["components"]["schemas"]["Health"]
    assert set(health["properties"]) == {"status", "database", "broker"}


def test_token_operation_takes_email_and_password_and_returns_a_pair(schema: dict) -> None:
    # given
    components = schema["components"]["schemas"]
    operation = schema["paths"]["/api/auth/token/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]

    # then
    request = components[request_ref.rsplit("/", 1)[1]]
    response = components[response_ref.rsplit("/", 1)[1]]
    assert set(request["required"]) == {"email", "password"}
    assert set(response["properties"]) == {"access", "refresh"}


@pytest.mark.parametrize(
    "path", ["/api/auth/token/", "/api/auth/token/refresh/", "/api/auth/logout/"]
)
def test_auth_operations_document_their_401(schema: dict, path: str) -> None:
    # then: the contract's "401 on bad credentials" / a token that no longer works
    responses = schema["paths"][path]["post"]["responses"]
    assert "401" in responses
    assert responses["401"]["content"] == ERROR_CONTENT


@pytest.mark.parametrize(
    "path",
    ["/api/stores/signup/", "/api/auth/token/", "/api/auth/token/refresh/", "/api/auth/logout/"],
)
def test_throttled_operations_document_their_429(schema: dict, path: str) -> None:
    # then
    responses = schema["paths"][path]["post"]["responses"]
    assert responses["429"]["content"] == ERROR_CONTENT


def test_stores_list_documents_its_pagination(schema: dict) -> None:
    # given
    operation = schema["paths"]["/api/stores/"]["get"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][response_ref.rsplit("/", 1)[1]]

    # then
    assert {parameter["name"] for parameter in operation["parameters"]} == {"page", "page_size"}
    assert set(page["properties"]) == {"count", "next", "previous", "results"}

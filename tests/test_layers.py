"""The one-way house: import-linter's layers contract holds, and breaks on an upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "config", "ops", "onboarding", "analytics", "sales", "catalog", "customers", "jobs", "stores",
    "core",
)  # fmt: skip
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own linter, fixed arguments
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """Kassa's packages and pyproject.toml, copied where they can be broken."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_the_layers_contract() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward_import", "refusal"),
    [
        ("core/money.py", "import stores.models", "core is not allowed to import stores"),
        (
            "catalog/services.py",
            "from sales.models import Sale",
            "catalog is not allowed to import sales",
        ),
        (
            "stores/tenancy.py",
            "import onboarding.services",
            "stores is not allowed to import onboarding",
        ),
        ("sales/models.py", "import analytics.models", "sales is not allowed to import analytics"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tree_copy: Path, module: str, upward_import: str, refusal: str
) -> None:
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{upward_import}\n")

    result = lint_imports(tree_copy)

    assert result.returncode == 1
    assert "0 kept, 1 broken" in result.stdout
    assert refusal in result.stdout


def test_siblings_of_a_layer_may_not_import_each_other(tree_copy: Path) -> None:
    path = tree_copy / "customers" / "models.py"
    path.write_text(path.read_text() + "\nimport catalog.models\n")

    result = lint_imports(tree_copy)

    assert result.returncode == 1
    assert "customers is not allowed to import catalog" in result.stdout

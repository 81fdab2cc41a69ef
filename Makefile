# Kassa's two commands: `make run` (set up, migrate, demo store, serve on :8000) and `make test`.
# Both need nothing but Python 3.11+: without DATABASE_URL they start an embedded PostgreSQL
# under .data/, and without CELERY_BROKER_URL Celery tasks run in-process.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: install run test lint pgbouncer fonts format worker beat bench stop-db clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,local]"
	touch $(INSTALLED)

install: $(INSTALLED)

run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate_schemas --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --stores 1 --products 40 --sales 200
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver 0.0.0.0:$(PORT)

# One worker per core (pytest-xdist), each with its own test database and Redis databases.
# The pooling tests start a real PgBouncer: Debian's, installed here when missing (as root);
# the receipt tests read PDFs drawn with Debian's DejaVu and Droid fallback fonts, likewise.
test: install lint pgbouncer fonts
	$(BIN)/python -m pytest -n auto --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

pgbouncer:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || { \
		test "$$(id -u)" = 0 || { echo "Install PgBouncer: apt-get install pgbouncer"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; }

FONTS := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
	/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf
fonts:
	@ls $(FONTS) >/dev/null 2>&1 || { \
		test "$$(id -u)" = 0 || { echo "Install fonts-dejavu-core fonts-droid-fallback"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			fonts-dejavu-core fonts-droid-fallback; }

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

stop-db: install
	$(BIN)/python -c "import pgserver; pgserver.get_server('.data/pg', cleanup_mode='stop').cleanup()"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

bench: install
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/checkout.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/operations.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/shift_report.py

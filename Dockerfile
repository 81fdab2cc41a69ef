# Kassa's image: the web process by default; compose.yaml runs the migrations, the Celery worker
# and beat from the same image with other commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

# The fonts receipt PDFs are drawn with (RECEIPT_FONTS): Latin, Cyrillic, Greek, and CJK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-droid-fallback \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system kassa \
    && useradd --system --gid kassa --home-dir /app --no-create-home --shell /usr/sbin/nologin kassa

# Dependencies first, so code changes do not reinstall them. pyproject.toml packages nothing
# (`packages = []`): `pip install .` installs the dependencies, and the code is copied below.
COPY pyproject.toml README.md /tmp/kassa/
RUN pip install /tmp/kassa && rm -rf /tmp/kassa

WORKDIR /app
COPY . .

# collectstatic imports the settings, which need a SECRET_KEY and a DATABASE_URL; it never
# connects, so build-only values do. Neither is kept in the image.
RUN SECRET_KEY=build-only-not-a-secret \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    python manage.py collectstatic --noinput --verbosity 0

USER kassa
EXPOSE 8000

CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]

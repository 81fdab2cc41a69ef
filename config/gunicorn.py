"""gunicorn's settings for Kassa: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Each can be overridden on the command line; the environment sets the usual ones.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Long query strings (filters, searches) are the API's own 4xx to answer, in JSON; gunicorn's
# default limit would answer them first, in HTML. 8190 is gunicorn's maximum.
limit_request_line = 8190
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log


def post_worker_init(worker: object) -> None:
    """What a worker made as it loaded Kassa (Django, the apps, the URL map) lives as long as it
    does: frozen out of the cyclic collector, which otherwise goes through all of it again at
    every full collection, in the middle of a request."""
    import gc  # noqa: PLC0415 - gunicorn's hooks are read from this settings file

    gc.collect()
    gc.freeze()

"""Log context: every record of a request carries its request id, store and user; of a task, its
task id and store. Formatters for plain text and JSON lines."""

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
store: contextvars.ContextVar[str] = contextvars.ContextVar("store", default="-")
user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="-")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own request id is kept when it is short and plain; anything else gets a new one.
ACCEPTABLE_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")
# What every LogRecord has; the rest are the `extra=` fields a call added.
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "store",
    "user",
}


class ContextFilter(logging.Filter):
    """Copies the request's (or task's) context onto each record.

    Django logs 4xx and 5xx answers (`django.request`) after the middleware has finished; those
    records carry the request, and the context saved on it is used instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        saved = getattr(getattr(record, "request", None), "log_context", None)
        values = saved or (request_id.get(), store.get(), user.get())
        for name, value in zip(("request_id", "store", "user"), values, strict=True):
            if not hasattr(record, name):  # a value given with `extra=` is kept
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "store": getattr(record, "store", "-"),
            "user": getattr(record, "user", "-"),
        }
        payload.update(
            (key, value) for key, value in record.__dict__.items() if key not in STANDARD_ATTRIBUTES
        )
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class RequestContextMiddleware:
    """Outermost: gives the request an id (the caller's `X-Request-ID`, or a new one), clears
    the store and user for it, and sends the id back in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        identifier = given if ACCEPTABLE_REQUEST_ID.match(given) else uuid.uuid4().hex
        tokens = (request_id.set(identifier), store.set("-"), user.set("-"))
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = identifier
            return response
        finally:
            request.log_context = (identifier, store.get(), user.get())
            for variable, token in zip((request_id, store, user), tokens, strict=True):
                variable.reset(token)

"""Authentication: simplejwt's Bearer tokens, naming the user in the log context."""

from rest_framework.request import Request
from rest_framework_simplejwt import authentication

from core import logging as log_context


class JWTAuthentication(authentication.JWTAuthentication):
    def authenticate(self, request: Request) -> tuple | None:
        result = super().authenticate(request)
        if result is not None:
            log_context.user.set(str(result[0].pk))
        return result

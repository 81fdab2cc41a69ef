"""Content negotiation for views that answer with a file of their own making."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class FileAnswerNegotiation(DefaultContentNegotiation):
    """For a view whose success is a file it renders itself (a receipt, an export): its
    `?format=` names the file's format, not a DRF renderer, and whatever else it answers
    (errors) is the first renderer's JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type

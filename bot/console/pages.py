"""Rendering a page from the templates, with the logged-in user and the CSRF token at hand."""

from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates


def render(request: Request, template: str, context: dict[str, Any],
           status_code: int = 200) -> Response:
    """Render a template (autoescaped: citizen text shows as text, never as markup)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)

"""How BPMN and DMN documents leave the app: one response shape for every page and API route that
serves one (the designer, the start and instance pages' viewers, the API). Each route checks who
may read the document; the XML itself comes from the engine's repository."""

from __future__ import annotations

from flask import Response


def xml_response(xml: str, headers: dict[str, str] | None = None) -> Response:
    """XML the browser must not sniff as HTML, revalidated on every use (a new version may be
    deployed at any time) and never stored by shared caches (a definition is not public)."""
    response = Response(xml, mimetype="application/xml", headers=headers or {})
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response

"""How BPMN and DMN documents, and attached files, leave the app: one response shape for every page and API route that
serves one (the designer, the start and instance pages' viewers, the API). Each route checks who
may read the document; the XML itself comes from the engine's repository."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response

from engine.services.attachments import IMAGES


def xml_response(xml: str, headers: dict[str, str] | None = None) -> Response:
    """XML the browser must not sniff as HTML, revalidated on every use (a new version may be
    deployed at any time) and never stored by shared caches (a definition is not public)."""
    response = Response(xml, mimetype="application/xml", headers=headers or {})
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def attachment_response(found: tuple[Any, bytes], inline_image: bool = False) -> Response:
    """An attached file as a download, whatever it is: `Content-Disposition: attachment` with its
    name (RFC 6266, UTF-8), the type the product recognised, `nosniff` and a sandboxing policy, so
    no upload ever runs as a page of the app. Images may be shown inline (thumbnails)."""
    row, data = found
    mimetype = row.content_type + ("; charset=utf-8" if row.content_type.startswith("text/") else "")
    response = Response(data, headers={"Content-Type": mimetype})
    inline = inline_image and row.content_type in IMAGES
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in row.filename) or "file"
    response.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.filename)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response

"""Importing leads or customers from a spreadsheet (/imports): choose the file, preview how its
columns map and what each row would do (created, duplicate, error), change the mapping, then
import; nothing is half-imported. The preview is an htmx swap beneath the form, so the chosen file
stays chosen for the import; without JavaScript the preview is a page of its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import EngineError, ValidationFailed
from engine.services.imports import CUSTOMER_HEADERS, MAX_BYTES, ImportReport, MissingColumn
from webui import labels
from webui.i18n import gettext as _
from webui.ui import actor, eng, is_htmx, page_blueprint

bp = page_blueprint("imports", __name__)
KINDS = ("leads", "customers")
MAX_COLUMNS = 200


def _targets(kind: str) -> list[tuple[str, str]]:
    """The fields a column may map to, as (id, label) in the user's language."""
    if kind == "customers":
        found = [(f, str(labels.CUSTOMER_FIELDS.get(f, f))) for f in CUSTOMER_HEADERS]
    else:
        with eng().db.sessions() as session:
            found = [(f["id"], labels.field_label(f)) for f in eng().imports.lead_fields(session, actor())]
    return [*found, ("owner", _("Owner (user name)"))]


def _run(dry_run: bool) -> tuple[str, ImportReport | None, str | None]:
    kind = request.form.get("kind") if request.form.get("kind") in KINDS else "leads"
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return kind, None, _("Choose the spreadsheet first.")
    content = upload.read(MAX_BYTES + 1)
    mapping = None
    if request.form.get("mapped") == "1":
        count = request.form.get("columns", "0")
        headers = [request.form.get(f"header_{i}", "") for i in range(min(int(count) if count.isdigit() else 0, MAX_COLUMNS))]
        mapping = {h: request.form.get(f"map_{i}", "") for i, h in enumerate(headers) if h}
    service = eng().imports.customers if kind == "customers" else eng().imports.leads
    try:
        return kind, service(actor(), upload.filename, content, dry_run, mapping), None
    except MissingColumn as exc:  # the mapping is shown, to choose the column by hand
        return kind, replace(exc.report, dry_run=True), "; ".join(labels.field_error(v) for v in exc.fields.values())
    except ValidationFailed as exc:
        return kind, None, "; ".join(labels.field_error(v) for v in exc.fields.values())
    except EngineError as exc:
        if exc.status == 403:
            raise
        return kind, None, labels.error_message(exc)


def _view(kind: str, report: ImportReport | None, error: str | None) -> dict[str, Any]:
    return {"kind": kind, "report": report, "error": error, "targets": _targets(kind), "kinds": KINDS}


@bp.get("/imports")
def index() -> ResponseReturnValue:
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else "leads"
    return render_template("imports/index.html", **_view(kind, None, None))


@bp.post("/imports/preview")
def preview() -> ResponseReturnValue:
    kind, report, error = _run(dry_run=True)
    template = "imports/_preview.html" if is_htmx() else "imports/index.html"
    return render_template(template, **_view(kind, report, error)), 422 if error and not is_htmx() else 200


@bp.post("/imports/run")
def run() -> ResponseReturnValue:
    kind, report, error = _run(dry_run=False)
    imported = report is not None and error is None
    return render_template("imports/index.html", imported=imported, **_view(kind, report, error)), 422 if error else 200

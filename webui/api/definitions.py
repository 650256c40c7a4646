"""Process definitions: list, deploy (admins), read one with its versions, download its XML."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import BadRequest
from webui.api import actor, bp, engine, int_arg
from webui.api.shapes import definition_view
from webui.documents import xml_response


@bp.get("/process-definitions")
def list_definitions() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return [definition_view(d) for d in eng.repository.list_latest(session)]


def _uploaded_files() -> list[tuple[str, bytes]]:
    if request.mimetype in ("application/xml", "text/xml", "application/bpmn+xml"):
        return [("upload.bpmn", request.get_data())]
    if request.mimetype == "multipart/form-data":
        files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("file")]
        if not files:
            raise BadRequest("send one or more 'file' parts")
        return files
    raise BadRequest("send BPMN XML (Content-Type: application/xml) or multipart 'file' parts")


@bp.post("/process-definitions")
def deploy() -> ResponseReturnValue:
    engine().authorization.require_admin(actor(), "may deploy process definitions")
    deployed = engine().repository.deploy(_uploaded_files(), actor().username)
    return {
        "deployed": [d.as_dict() for d in deployed if d.kind == "process"],
        "decisions": [d.as_dict() for d in deployed if d.kind == "decision"],
    }, 201


@bp.post("/process-definitions/validate")
def validate() -> ResponseReturnValue:
    engine().authorization.require_admin(actor(), "may validate process definitions")
    eng = engine()
    with eng.db.sessions() as session:
        problems = eng.repository.validate(session, _uploaded_files())
    return {"valid": not any(p["severity"] == "error" for p in problems), "problems": problems}


@bp.get("/process-definitions/<key>")
def get_definition(key: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        definition = eng.repository.latest(session, key)
        eng.authorization.require_read_definition(definition, actor())
        view = definition_view(definition)
        view["start_form"] = definition.start_meta.get("form", [])
        view["may_start"] = eng.authorization.may_start(definition, actor())
        view["versions"] = [{**v, "deployed_at": v["deployed_at"].isoformat()} for v in eng.repository.versions(session, key)]
        return view


@bp.get("/process-definitions/<key>/xml")
def get_definition_xml(key: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        definition = eng.repository.latest(session, key)
        eng.authorization.require_read_definition(definition, actor())
        return xml_response(definition.bpmn_xml)


@bp.get("/process-definitions/<key>/statistics")
def definition_statistics(key: str) -> ResponseReturnValue:
    """Instances by status and, per step, open, overdue, completed and late in `days` (7, 30, 90,
    365; default 30) with average, p50 and p90 seconds, over the caller's scope (supervisors and
    admins)."""
    eng = engine()
    with eng.db.sessions() as session:
        return eng.statistics.process(session, actor(), key, int_arg("days", 30, 1, 365)).as_dict()

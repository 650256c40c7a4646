"""The process designer (admins): the list of definitions with their versions and drafts, the
bpmn-js modeler (/designer/<key>) with validation on the diagram, drafts and deployment, the
version history with diffs and the migration of running instances, and the dmn-js decision
tables. Every action is one engine call; the modeler talks to the JSON endpoints with the
session's CSRF token in a header."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from lxml import etree

from engine.bpmn import validation
from engine.bpmn.forms import is_digits
from engine.clock import aware
from engine.errors import EngineError, InvalidDefinition, NotFound, ValidationFailed
from webui import labels
from webui.documents import xml_response
from webui.i18n import gettext as _
from webui.ui import actor, eng, local_time, page_blueprint, role_names

bp = page_blueprint("designer", __name__)
KEY = validation.PROCESS_KEY
FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_LISTED_INSTANCES = 200
MIGRATION_STATUSES = {
    "planned": _l("Compatible"),
    "migrated": _l("Migrated"),
    "incompatible": _l("Incompatible"),
    "failed": _l("Failed"),
    "skipped": _l("Skipped"),
}


@bp.before_request
def admins_only() -> None:
    if current_user.is_authenticated and not eng().authorization.may_administer(actor()):
        abort(403)


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {"migration_status": lambda status: str(MIGRATION_STATUSES.get(status, status))}


def _key_or_404(key: str) -> str:
    if not KEY.fullmatch(key):
        abort(404)
    return key


# --- the list ----------------------------------------------------------------------------------


@bp.get("/designer")
def index() -> ResponseReturnValue:
    engine = eng()
    with engine.db.sessions() as session:
        definitions = [{"key": key, **entry} for key, entry in engine.repository.catalogue(session).items()]
        decisions = [
            {"key": d.key, "name": d.name, "version": d.version, "deployed_at": d.deployed_at, "deployed_by": d.deployed_by}
            for d in engine.repository.latest_decisions(session)
        ]
        drafts = engine.admin.drafts(session, actor())
    deployed = {d["key"]: d for d in definitions}
    for d in definitions:
        d["running"] = sum(v["running_instances"] for v in d["versions"])
    for draft in drafts:
        latest = deployed.get(draft["key"])
        newest_version = latest["versions"][-1]["deployed_at"] if latest else None
        draft["newer"] = newest_version is None or aware(draft["updated_at"]) > aware(newest_version)  # type: ignore[operator]
    return render_template("designer/index.html", definitions=definitions, decisions=decisions, drafts=drafts)


@bp.post("/designer/import")
def import_file() -> ResponseReturnValue:
    """An uploaded BPMN file becomes the draft of its (first executable, else first) process."""
    upload = request.files.get("file")
    filename = (upload.filename if upload else None) or "upload.bpmn"
    try:
        doc = validation.parse_document(filename, upload.read() if upload else b"")
    except EngineError as exc:
        message = exc.problems[0]["message"] if isinstance(exc, InvalidDefinition) and exc.problems else labels.error_message(exc)
        flash(_("The file could not be read: %(detail)s", detail=message), "error")
        return redirect(url_for("designer.index"))
    if doc.kind == "dmn":
        flash(_("This is a decision table: open it under Decision tables and deploy it from there."), "warning")
        return redirect(url_for("designer.index"))
    processes = validation.executable_processes(doc.root) or doc.root.findall(f"{{{validation.BPMN_NS}}}process")
    key = next((p.get("id") for p in processes if p.get("id") and KEY.fullmatch(p.get("id") or "")), None)
    if key is None:
        flash(_("The file has no process with a usable id."), "error")
        return redirect(url_for("designer.index"))
    eng().admin.save_draft(actor(), key, etree.tostring(doc.root, encoding="unicode").encode())
    flash(_("Imported as a draft of “%(key)s”. Nothing is live until you deploy it.", key=key), "success")
    return redirect(url_for("designer.edit", key=key, draft=1))


# --- the modeler ---------------------------------------------------------------------------------


def _texts() -> dict[str, str]:
    """What the modeler's script says, in the user's language."""
    return {
        "loading": _("Loading the diagram…"),
        "loadFailed": _("The diagram could not be opened: %(detail)s", detail="{detail}"),
        "importWarnings": _("Opened with %(num)s warnings (unknown elements are kept as they are).", num="{n}"),
        "validating": _("Checking…"),
        "valid": _("No problems: ready to deploy."),
        "validWithWarnings": _("Ready to deploy, with %(num)s warnings.", num="{n}"),
        "invalid": _("%(num)s errors: fix them to deploy.", num="{n}"),
        "unchecked": _("Changed: checking again…"),
        "saved": _("Draft saved (not live)."),
        "deployed": _("Deployed: %(what)s.", what="{what}"),
        "unchanged": _("Nothing changed since the deployed version %(version)s.", version="{version}"),
        "version": _("version %(version)s", version="{version}"),
        "failed": _("That did not work: %(detail)s", detail="{detail}"),
        "noProcess": _("The diagram has no process with an id."),
        "flowOfGateway": _("A condition on an outgoing flow of this gateway has a problem."),
        "error": _("Error"),
        "warning": _("Warning"),
        "info": _("Note"),
        "leave": _("Leave the designer? Unsaved changes are lost."),
        "previewing": _("Comparing with the deployed versions…"),
        "planNew": _("%(name)s (%(key)s): new, becomes version 1", name="{name}", key="{key}"),
        "planVersion": _("%(name)s (%(key)s): version %(old)s → version %(new)s", name="{name}", key="{key}", old="{from}", new="{to}"),
        "planSame": _("%(name)s (%(key)s): unchanged, stays version %(version)s", name="{name}", key="{key}", version="{version}"),
        "planRunning": _("%(num)s running instances keep their version.", num="{n}"),
        "planAdded": _("Added: %(elements)s", elements="{list}"),
        "planRemoved": _("Removed: %(elements)s", elements="{list}"),
        "planChanged": _("Changed: %(elements)s", elements="{list}"),
        "planNothing": _("Nothing to deploy: everything is the same as the deployed versions."),
        "decisionTable": _("Decision table"),
        "versionChip": _("Version %(version)s", version="{version}"),
        "deployedNow": _("· deployed by you just now"),
        "latest": _("(latest)"),
        "chooseRoles": _("Choose the roles this task is offered to"),
    }


def _source(key: str) -> dict[str, Any]:
    """What the modeler opens: ?version=N, ?draft=1, or the newer of the draft and the latest version."""
    engine = eng()
    with engine.db.sessions() as session:
        entry = engine.repository.catalogue(session, key).get(key, {"name": None, "versions": []})
        drafts = {d["key"]: d for d in engine.admin.drafts(session, actor())}
    versions, name = entry["versions"], entry["name"]
    draft = drafts.get(key)
    latest = versions[-1] if versions else None
    asked = request.args.get("version", "")
    if asked:
        chosen = next((v for v in versions if str(v["version"]) == asked), None)
        if chosen is None:
            abort(404)
        return {"kind": "version", "version": chosen, "draft": draft, "latest": latest, "versions": versions, "name": name}
    if draft and (request.args.get("draft") or latest is None or aware(draft["updated_at"]) > aware(latest["deployed_at"])):  # type: ignore[operator]
        return {"kind": "draft", "version": None, "draft": draft, "latest": latest, "versions": versions, "name": name}
    if latest is None:
        abort(404)
    return {"kind": "version", "version": latest, "draft": draft, "latest": latest, "versions": versions, "name": name}


def _modeler(key: str, name: str | None, source: dict[str, Any], xml_url: str) -> str:
    with eng().db.sessions() as session:
        role_codes = sorted(eng().identity.role_labels(session))
    return render_template(
        "designer/modeler.html",
        key=key,
        roles=[{"name": code, "label": role_names([code])} for code in role_codes],
        name=name,
        source=source,
        xml_url=xml_url,
        texts=_texts(),
        urls={
            "validate": url_for("designer.validate"),
            "deploy": url_for("designer.deploy"),
            "preview": url_for("designer.preview"),
            "draft": url_for("designer.save_draft", key="__key__"),
            "edit": url_for("designer.edit", key="__key__"),
        },
    )


@bp.get("/designer/new")
def new() -> ResponseReturnValue:
    key = request.args.get("key", "").strip()
    name = request.args.get("name", "").strip()[:200] or key
    if not KEY.fullmatch(key):
        flash(_("The key must start with a letter and use only letters, digits, '_', '-' or '.' (at most 128)."), "error")
        return redirect(url_for("designer.index"))
    with eng().db.sessions() as session:
        exists = eng().repository.exists(session, key)
    if exists:
        flash(_("“%(key)s” exists already: it is open for editing.", key=key), "warning")
        return redirect(url_for("designer.edit", key=key))
    source = {"kind": "new", "version": None, "draft": None, "latest": None, "versions": [], "name": name}
    return _modeler(key, name, source, url_for("designer.blank", key=key, name=name))


@bp.get("/designer/new.bpmn")
def blank() -> ResponseReturnValue:
    key = request.args.get("key", "")
    if not KEY.fullmatch(key):
        abort(404)
    return xml_response(render_template("designer/blank.bpmn.xml", key=key, name=request.args.get("name", "")[:200] or key))


@bp.get("/designer/<key>")
def edit(key: str) -> ResponseReturnValue:
    source = _source(_key_or_404(key))
    if source["kind"] == "draft":
        xml_url = url_for("designer.diagram", key=key, draft=1)
    else:
        xml_url = url_for("designer.diagram", key=key, version=source["version"]["version"])
    return _modeler(key, source["name"], source, xml_url)


@bp.get("/designer/<key>/diagram.bpmn")
def diagram(key: str) -> ResponseReturnValue:
    engine = eng()
    _key_or_404(key)
    with engine.db.sessions() as session:
        if request.args.get("draft"):
            xml = engine.admin.draft(session, actor(), key).xml
        else:
            version = request.args.get("version", "")
            number = int(version) if is_digits(version) and len(version) < 8 else None
            xml = engine.repository.bpmn_xml(session, key=key, version=number)
    return xml_response(xml)


def _body_file(default: str) -> list[tuple[str, bytes]]:
    """The posted XML as one file, named after ?file= (only for the messages)."""
    name = FILENAME.sub("_", request.args.get("file", ""))[:100].strip("._") or default
    return [(name, request.get_data())]


def _json_error(exc: EngineError) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": exc.code, "message": labels.error_message(exc)}
    if isinstance(exc, InvalidDefinition):
        body["problems"] = exc.problems
    if isinstance(exc, ValidationFailed):
        body["fields"] = exc.fields
        body["message"] = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    return jsonify(body), exc.status


@bp.post("/designer/validate")
def validate() -> ResponseReturnValue:
    engine = eng()
    try:
        with engine.db.sessions() as session:
            problems = engine.repository.validate(session, _body_file("diagram.bpmn"))
    except EngineError as exc:
        return _json_error(exc)
    return jsonify({"valid": not any(p["severity"] == "error" for p in problems), "problems": problems})


@bp.post("/designer/preview")
def preview() -> ResponseReturnValue:
    """What a deploy of the posted file would change (the confirmation before it goes live)."""
    engine = eng()
    try:
        with engine.db.sessions() as session:
            items = engine.repository.preview(session, _body_file("diagram.bpmn"))
    except EngineError as exc:
        return _json_error(exc)
    return jsonify({"items": items})


@bp.post("/designer/deploy")
def deploy() -> ResponseReturnValue:
    try:
        deployed = eng().repository.deploy(_body_file("diagram.bpmn"), actor().username)
    except EngineError as exc:
        return _json_error(exc)
    items = [d.as_dict() for d in deployed]
    for item in items:
        item["versions_url"] = url_for("designer.versions", key=item["key"]) if item["kind"] == "process" else None
    return jsonify({"deployed": items}), 201


@bp.post("/designer/<key>/draft")
def save_draft(key: str) -> ResponseReturnValue:
    if not KEY.fullmatch(key):
        return jsonify({"error": "bad_request", "message": _("The process id is not a usable key.")}), 400
    try:
        draft = eng().admin.save_draft(actor(), key, request.get_data())
    except EngineError as exc:
        return _json_error(exc)
    return jsonify({"key": draft.key, "updated_by": draft.updated_by, "updated_at": local_time(draft.updated_at)})


# --- versions: history, diff, migration ------------------------------------------------------------


def _int(value: str | None) -> int | None:
    return int(value) if value and is_digits(value) and len(value) < 10 else None


def _versions_view(key: str) -> dict[str, Any]:
    engine = eng()
    me = actor()
    with engine.db.sessions() as session:
        entry = engine.repository.catalogue(session, key).get(key)
        if entry is None:
            raise NotFound(f"no process definition with key '{key}'")
        versions, name = entry["versions"], entry["name"]
        instances, total = engine.runtime.query(session, me, process_key=key, status="running", limit=MAX_LISTED_INSTANCES)
        by_id = {v["id"]: v["version"] for v in versions}
        open_tasks: dict[int, list[str]] = {}
        for row in engine.runtime.open_tasks(session, [i.id for i in instances]):
            open_tasks.setdefault(row.instance_id, []).append(labels.task_name(row.task_key, row.name))
        running = [
            {
                "id": i.id,
                "version": by_id.get(i.definition_id),
                "business_key": i.business_key,
                "started_by": i.started_by,
                "started_at": i.started_at,
                "tasks": open_tasks.get(i.id, []),
            }
            for i in sorted(instances, key=lambda i: i.id)
        ]
        diff = None
        first, second = _int(request.args.get("from")), _int(request.args.get("to"))
        if first and second:
            diff = engine.migration.diff(session, key, first, second)
    return {
        "key": key,
        "name": name,
        "versions": versions,
        "latest": versions[-1]["version"],
        "running": running,
        "running_total": total,
        "diff": diff,
        "report": None,
        "alert": None,
    }


@bp.get("/designer/<key>/versions")
def versions(key: str) -> ResponseReturnValue:
    return render_template("designer/versions.html", **_versions_view(_key_or_404(key)))


@bp.post("/designer/<key>/migrate")
def migrate(key: str) -> ResponseReturnValue:
    _key_or_404(key)
    dry_run = request.form.get("action") != "migrate"
    chosen = [_int(i) for i in request.form.getlist("instance")]
    instance_ids: list[int] | None = [i for i in chosen if i is not None] or None
    to_version = _int(request.form.get("to_version"))
    from_version = _int(request.form.get("from_version"))
    status = 200
    report = alert = None
    try:
        report = eng().migration.migrate(actor(), key, to_version, instance_ids, from_version, dry_run=dry_run)
    except ValidationFailed as exc:
        alert, status = _("Choose a target version and at least one running instance of another version."), 422
        if "instance_ids" in exc.fields:
            alert = labels.field_error(exc.fields["instance_ids"])
    if report is not None and not dry_run:
        migrated = report["counts"].get("migrated", 0)
        flash(_("%(num)s instances moved to version %(version)s.", num=migrated, version=to_version), "success" if migrated else "warning")
    view = _versions_view(key)
    view.update(report=report, alert=alert, to_version=to_version)
    return render_template("designer/versions.html", **view), status


# --- decision tables ---------------------------------------------------------------------------------


@bp.get("/designer/decisions/<key>")
def decision(key: str) -> ResponseReturnValue:
    engine = eng()
    with engine.db.sessions() as session:
        row = engine.repository.latest_decision(session, _key_or_404(key))
        info = {"key": row.key, "name": row.name, "version": row.version, "deployed_at": row.deployed_at, "deployed_by": row.deployed_by}
    return render_template(
        "designer/decision.html",
        decision=info,
        xml_url=url_for("designer.decision_xml", key=key),
        texts=_texts(),
        urls={"validate": url_for("designer.validate"), "deploy": url_for("designer.deploy"), "preview": url_for("designer.preview")},
    )


@bp.get("/designer/decisions/<key>/diagram.dmn")
def decision_xml(key: str) -> ResponseReturnValue:
    engine = eng()
    with engine.db.sessions() as session:
        xml = engine.repository.latest_decision(session, _key_or_404(key)).dmn_xml
    return xml_response(xml)

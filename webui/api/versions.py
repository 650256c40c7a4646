"""Comparing versions of a definition and migrating running instances between them (admins)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from engine.bpmn.forms import is_digits
from engine.errors import ValidationFailed
from webui.api import actor, bp, engine, json_body


def _version_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not is_digits(raw) or not 1 <= int(raw) <= 1_000_000:
        raise ValidationFailed({name: "must be a version number"})
    return int(raw)


@bp.get("/process-definitions/<key>/diff")
def diff_versions(key: str) -> ResponseReturnValue:
    engine().authorization.require_admin(actor(), "compare versions")
    eng = engine()
    with eng.db.sessions() as session:
        return eng.migration.diff(session, key, _version_arg("from"), _version_arg("to"))


@bp.post("/process-definitions/<key>/migrations")
def migrate_instances(key: str) -> ResponseReturnValue:
    body = json_body()
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise ValidationFailed({"dry_run": "must be true or false"})
    return engine().migration.migrate(actor(), key, body.get("to_version"), body.get("instance_ids"), body.get("from_version"), dry_run)

"""The customer file over the API (docs/api.md "Customers and sales work"): list and search, one
customer with its contacts and timeline, create (409 `duplicate` with `existing_id`), change,
contacts (activities: webui.api.activities). A customer the caller may not see answers 404."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.clock import iso
from engine.errors import ValidationFailed
from engine.services.customers import TEXT_FIELDS, CustomerFilter
from engine.services.imports import MAX_BYTES
from store.models import Contact, Customer
from webui.api import actor, bp, engine, int_arg, json_body

ID = "<int(min=1, max=2147483647):customer_id>"


def customer_summary(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "owner": c.owner,
        "grade": c.grade,
        "industry": c.industry,
        "created_at": iso(c.created_at),
        "last_touched_at": iso(c.last_touched_at),
    }


def customer_view(c: Customer) -> dict[str, Any]:
    return {**customer_summary(c), **{f: getattr(c, f) for f in TEXT_FIELDS}, "lead_id": c.lead_id, "updated_at": iso(c.updated_at)}


def contact_view(c: Contact) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "title": c.title,
        "phone": c.phone,
        "email": c.email,
        "birthday": c.birthday.isoformat() if c.birthday else None,
        "relationship": c.relationship,
        "notes": c.notes,
    }


@bp.get("/customers")
def list_customers() -> ResponseReturnValue:
    eng = engine()
    f = CustomerFilter.from_params(request.args)
    per_page = int_arg("limit", 50, 1, 200)
    with eng.db.sessions() as session:
        rows, total, page = eng.customers.query(session, actor(), f, int_arg("page", 1, 1, 100_000), per_page)
        return {"items": [customer_summary(c) for c in rows], "total": total, "page": page}


@bp.post("/customers")
def create_customer() -> ResponseReturnValue:
    customer = engine().customers.create(actor(), json_body())
    return customer_view(customer), 201


@bp.get(f"/customers/{ID}")
def get_customer(customer_id: int) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        customer = eng.customers.get(session, actor(), customer_id)
        timeline = [{**e.as_dict(), "at": iso(e.at)} for e in eng.customers.timeline(session, customer)]
        contacts = [contact_view(c) for c in eng.customers.contacts(session, customer.id)]
        return {**customer_view(customer), "contacts": contacts, "timeline": timeline}


@bp.patch(f"/customers/{ID}")
def update_customer(customer_id: int) -> ResponseReturnValue:
    return customer_view(engine().customers.update(actor(), customer_id, json_body()))


@bp.post(f"/customers/{ID}/contacts")
def add_contact(customer_id: int) -> ResponseReturnValue:
    return contact_view(engine().customers.add_contact(actor(), customer_id, json_body())), 201


@bp.post(f"/customers/{ID}/merge")
def merge_customer(customer_id: int) -> ResponseReturnValue:
    """Merge the customer `duplicate_id` into this one (admins, the sales director); `dry_run`
    (default true) only says what would move."""
    body = json_body()
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise ValidationFailed({"dry_run": "must be true or false"})
    eng = engine()
    if dry_run:
        with eng.db.sessions() as session:
            plan = eng.merges.preview(session, actor(), customer_id, body.get("duplicate_id"))
            return {**plan.as_dict(), "dry_run": True}
    return {**eng.merges.merge(actor(), customer_id, body.get("duplicate_id")).as_dict(), "dry_run": False}


@bp.post("/imports/leads")
def import_leads() -> ResponseReturnValue:
    """An XLSX or CSV of leads (multipart `file`, a header row): each good row starts a
    lead_qualification; `dry_run=true` (form field or query) only reports what would happen."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed({"file": "is required (multipart form field 'file')"})
    dry_run = (request.form.get("dry_run") or request.args.get("dry_run") or "false").lower() in ("1", "true", "yes")
    content = upload.read(MAX_BYTES + 1)
    report = engine().imports.leads(actor(), upload.filename, content, dry_run, _mapping())
    return report.as_dict()


@bp.post("/imports/customers")
def import_customers() -> ResponseReturnValue:
    """An XLSX or CSV of customers (multipart `file`): each good row a customer of the file, owned
    by the importer or the row's owner column; duplicates and bad rows reported; `dry_run` previews."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed({"file": "is required (multipart form field 'file')"})
    dry_run = (request.form.get("dry_run") or request.args.get("dry_run") or "false").lower() in ("1", "true", "yes")
    content = upload.read(MAX_BYTES + 1)
    return engine().imports.customers(actor(), upload.filename, content, dry_run, _mapping()).as_dict()


def _mapping() -> dict[str, str] | None:
    """An optional `mapping` form field: a JSON object of header -> field ("" leaves a column out)."""
    raw = request.form.get("mapping")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValidationFailed({"mapping": "must be a JSON object of column header to field"}) from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationFailed({"mapping": "must be a JSON object of column header to field"})
    return value

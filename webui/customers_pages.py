"""The customer file (/customers): the list with search, filters and paging; a customer's page with
its file card, contacts, the timeline across processes and the activity log with next steps; new
and edit forms. Visibility and rights come from engine.authorization (404 beyond them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from engine.services.activities import ACTIVITY_KINDS
from engine.services.customers import GRADES, RELATIONSHIPS, SORTS, STATUSES, TEXT_FIELDS, CustomerFilter, Duplicate
from engine.services.opportunities import STAGES
from webui import labels
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.spreadsheets import download
from webui.ui import actor, done, eng, page_arg, page_blueprint

bp = page_blueprint("customers", __name__)
ID = "<int(min=1, max=2147483647):customer_id>"
EDITABLE = ("name", *TEXT_FIELDS, "status", "grade")
EXPORT_LIMIT = 10_000
EXPORT_FIELDS = ("name", "short_name", "status", "grade", "owner", "industry", "phone", "email", "address", "market", "last_touched_at")


def _form_values() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in EDITABLE if k in request.form}


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {k: labels.field_error(v) for k, v in exc.fields.items()}


def list_url(f: CustomerFilter, page: int = 1) -> str:
    params: dict[str, Any] = f.params()
    if page > 1:
        params["page"] = page
    return url_for("customers.index") + ("?" + urlencode(params) if params else "")


@bp.get("/customers")
def index() -> ResponseReturnValue:
    f = CustomerFilter.from_params(request.args)
    engine = eng()
    session = page_session()
    rows, total, page = engine.customers.query(session, actor(), f, page_arg())
    owners = engine.customers.owners(session)
    pages = max(1, -(-total // 25))
    return render_template(
        "customers/index.html",
        f=f,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        owners=owners,
        statuses=STATUSES,
        grades=GRADES,
        sorts=SORTS,
        page_url=lambda n: list_url(f, n),
        may_create=engine.authorization.may_create_customer(actor()),
        now=engine.clock(),
    )


@bp.get("/customers/suggest")
def suggest() -> ResponseReturnValue:
    """Up to 10 customers the user may see whose name matches what was typed (form autocomplete)."""
    f = CustomerFilter.from_params({"q": request.args.get("q", "")})
    if not f.q:
        return jsonify({"items": []})
    with eng().db.sessions() as session:
        rows, _total, _page = eng().customers.query(session, actor(), f, 1, 10)
    return jsonify({"items": [{"id": c.id, "name": c.name} for c in rows]})


@bp.get("/customers/export.xlsx")
def export() -> ResponseReturnValue:
    """The filtered list as a spreadsheet (the customers the user may see, at most 10,000 rows)."""
    f = CustomerFilter.from_params(request.args)
    engine = eng()
    with engine.db.sessions() as session:
        rows, total, _page = engine.customers.query(session, actor(), f, 1, EXPORT_LIMIT)
        names = engine.identity.display_names(session)
    headers = [str(labels.CUSTOMER_FIELDS[k]) for k in EXPORT_FIELDS[:-1]] + [_("Last touched")]
    rows_out = [[_export_value(c, k, names) for k in EXPORT_FIELDS] for c in rows]
    return download("xlsx", _("Customers"), "customers", headers, rows_out, total)


def _export_value(customer: Any, key: str, names: dict[str, str]) -> Any:
    if key == "owner":
        return names.get(customer.owner or "", customer.owner)
    if key == "status":
        return labels.customer_status(customer.status)
    return getattr(customer, key)


@bp.get("/customers/new")
def new() -> ResponseReturnValue:
    if not eng().authorization.may_create_customer(actor()):
        return redirect(url_for("customers.index"))
    return render_template("customers/edit.html", customer=None, values={"status": "potential"}, errors={}, fields=TEXT_FIELDS)


@bp.post("/customers")
def create() -> ResponseReturnValue:
    values = _form_values()
    try:
        customer = eng().customers.create(actor(), values)
    except Duplicate as exc:
        existing = exc.extra["existing_id"]
        page = render_template(
            "customers/edit.html",
            customer=None,
            values=values,
            errors={},
            fields=TEXT_FIELDS,
            duplicate=existing,
            alert=_("This customer is in the file already."),
        )
        return page, 409
    except ValidationFailed as exc:
        page = render_template(
            "customers/edit.html",
            customer=None,
            values=values,
            errors=_errors(exc),
            fields=TEXT_FIELDS,
            alert=_("Please correct the marked fields."),
        )
        return page, 422
    return done(_("Customer %(name)s created.", name=customer.name), url_for("customers.show", customer_id=customer.id), events=())


@bp.get(f"/customers/{ID}")
def show(customer_id: int) -> ResponseReturnValue:
    engine = eng()
    me = actor()
    session = page_session()
    customer = engine.customers.get(session, me, customer_id)
    contacts = engine.customers.contacts(session, customer.id)
    timeline = engine.customers.timeline(session, customer)
    may_edit = engine.authorization.may_edit_customer(session, me, customer)
    reports = [u.username for u in engine.worklist.reports(session, me)]
    startable = {d.key for d in engine.repository.list_latest(session) if engine.authorization.may_start(d, me)} & {
        "complaint_handling",
        "approval_chain",
        "receivable_collection",
    }
    may_merge = engine.authorization.may_merge_customers(me)
    opportunities = engine.opportunities.open_of(session, customer.id)
    return render_template(
        "customers/show.html",
        may_merge=may_merge,
        opportunities=opportunities,
        customer=customer,
        contacts=contacts,
        timeline=timeline,
        may_edit=may_edit,
        reports=reports,
        startable=startable,
        activity_kinds=ACTIVITY_KINDS,
        relationships=RELATIONSHIPS,
        errors={},
        values={},
        now=engine.clock(),
    )


@bp.get(f"/customers/{ID}/merge")
def merge_preview(customer_id: int) -> ResponseReturnValue:
    """Choose the duplicate (by name, from the file), then see what the merge would move."""
    engine = eng()
    me = actor()
    engine.authorization.require_merge_customers(me)
    raw = request.args.get("duplicate_id", "")
    text = (request.args.get("q") or "")[:100].strip()
    plan, choices, error = None, [], None
    with engine.db.sessions() as session:
        customer = engine.customers.get(session, me, customer_id)
        if raw:
            try:
                plan = engine.merges.preview(session, me, customer_id, int(raw) if raw.isdigit() else raw)
            except ValidationFailed as exc:
                error = error_detail(exc)
        elif text:
            rows, _total, _page = engine.customers.query(session, me, CustomerFilter.from_params({"q": text}), 1, 20)
            choices = [c for c in rows if c.id != customer_id]
    return render_template("customers/merge.html", customer=customer, plan=plan, choices=choices, q=text, error=error)


@bp.post(f"/customers/{ID}/merge")
def merge(customer_id: int) -> ResponseReturnValue:
    raw = request.form.get("duplicate_id", "")
    try:
        plan = eng().merges.merge(actor(), customer_id, int(raw) if raw.isdigit() else raw)
    except ValidationFailed as exc:
        return done(error_detail(exc), url_for("customers.merge_preview", customer_id=customer_id), "error", events=())
    message = _("%(name)s was merged into this customer; everything that was on it is here now.", name=plan.duplicate.name)
    return done(message, url_for("customers.show", customer_id=customer_id), events=())


@bp.get(f"/customers/{ID}/edit")
def edit(customer_id: int) -> ResponseReturnValue:
    engine = eng()
    with engine.db.sessions() as session:
        customer = engine.customers.get(session, actor(), customer_id)
        if not engine.authorization.may_edit_customer(session, actor(), customer):
            return redirect(url_for("customers.show", customer_id=customer_id))
        values = {k: getattr(customer, k) or "" for k in EDITABLE}
        owners = engine.customers.owners(session) if engine.authorization.may_reassign_customer(session, actor(), customer) else []
    return render_template("customers/edit.html", customer=customer, values=values, errors={}, fields=TEXT_FIELDS, owners=owners)


@bp.post(f"/customers/{ID}/edit")
def update(customer_id: int) -> ResponseReturnValue:
    values: dict[str, Any] = _form_values()
    if request.form.get("owner"):
        values["owner"] = request.form["owner"]
    try:
        eng().customers.update(actor(), customer_id, values)
    except (Duplicate, ValidationFailed) as exc:
        engine = eng()
        with engine.db.sessions() as session:
            customer = engine.customers.get(session, actor(), customer_id)
        errors = _errors(exc) if isinstance(exc, ValidationFailed) else {}
        alert = (
            _("Another customer has this name, phone or email.") if isinstance(exc, Duplicate) else _("Please correct the marked fields.")
        )
        page = render_template(
            "customers/edit.html",
            customer=customer,
            values=values,
            errors=errors,
            fields=TEXT_FIELDS,
            duplicate=exc.extra.get("existing_id"),
            alert=alert,
        )
        return page, exc.status
    return done(_("Saved."), url_for("customers.show", customer_id=customer_id), events=())


@bp.post(f"/customers/{ID}/contacts")
def add_contact(customer_id: int) -> ResponseReturnValue:
    data = {k: request.form.get(k, "") for k in ("name", "title", "phone", "email", "birthday", "relationship", "notes")}
    back = url_for("customers.show", customer_id=customer_id) + "#contacts"
    try:
        eng().customers.add_contact(actor(), customer_id, data)
    except ValidationFailed as exc:
        return done(_("The contact was not added: %(detail)s", detail=error_detail(exc)), back, "error", events=())
    return done(_("Contact %(name)s added.", name=data["name"].strip()), back, events=())


@bp.post(f"/customers/{ID}/activities")
def log_activity(customer_id: int) -> ResponseReturnValue:
    data = {k: request.form.get(k, "") for k in ("kind", "summary", "next_step", "next_at", "assignee", "opportunity_id")}
    back = url_for("customers.show", customer_id=customer_id) + "#activity"
    try:
        eng().activities.on_customer(actor(), customer_id, {k: v for k, v in data.items() if v})
    except ValidationFailed as exc:
        return done(_("The activity was not saved: %(detail)s", detail=error_detail(exc)), back, "error", events=())
    if data["next_at"]:
        return done(_("Activity saved; you will be reminded of the next step."), back, events=())
    return done(_("Activity saved."), back, events=())


def error_detail(exc: ValidationFailed) -> str:
    names = {
        "kind": _("kind"),
        "summary": _("summary"),
        "next_at": _("next step's date"),
        "next_step": _("next step"),
        "assignee": _("for"),
        "name": _("name"),
        "birthday": _("birthday"),
        "email": _("email"),
        "stage": _("stage"),
        "username": _("person"),
        "duplicate_id": _("duplicate"),
        "opportunity_id": _("opportunity"),
    }
    return "; ".join(f"{names.get(k, k)}: {labels.field_error(v)}" for k, v in exc.fields.items())


# --- opportunities: the pipeline ------------------------------------------------------------------

OPPORTUNITY_ID = "<int(min=1, max=2147483647):opportunity_id>"


@bp.get("/opportunities")
def pipeline() -> ResponseReturnValue:
    """The pipeline board: one column per stage; the owner's own, their team's, or (director) all."""
    engine = eng()
    me = actor()
    owner = request.args.get("owner") or None
    untouched = request.args.get("untouched") == "1"
    with engine.db.sessions() as session:
        board = engine.opportunities.board(session, me, owner)
        owners = engine.customers.owners(session)
        may_assign = engine.authorization.may_hand_out_opportunities(session, me)
    if untouched:
        board = {stage: [c for c in cards if c.flagged] for stage, cards in board.items()}
    return render_template(
        "customers/pipeline.html", board=board, owners=owners, owner=owner, untouched=untouched, may_assign=may_assign, stages=STAGES
    )


@bp.post(f"/opportunities/{OPPORTUNITY_ID}/stage")
def set_stage(opportunity_id: int) -> ResponseReturnValue:
    back = url_for("customers.pipeline", owner=request.args.get("owner") or None)
    try:
        eng().opportunities.update(actor(), opportunity_id, {"stage": request.form.get("stage", "")})
    except ValidationFailed as exc:
        return done(error_detail(exc), back, "error", events=())
    return done(_("Stage saved."), back, events=())


@bp.post(f"/opportunities/{OPPORTUNITY_ID}/assign")
def assign_opportunity(opportunity_id: int) -> ResponseReturnValue:
    back = url_for("customers.pipeline", owner=request.args.get("owner") or None)
    username = request.form.get("username", "")
    try:
        eng().opportunities.assign(actor(), opportunity_id, username)
    except ValidationFailed as exc:
        return done(error_detail(exc), back, "error", events=())
    return done(_("Given to %(user)s, who has been told.", user=username), back, events=())

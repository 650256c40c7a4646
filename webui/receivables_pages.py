"""The receivables board (/receivables, seed 001): what falls due overdue, today, this week and this
month, with the outstanding amounts; the sales assistant records a payment on the row."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from engine.services.receivables import BUCKETS
from webui import labels
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, money, page_blueprint, safe_next

bp = page_blueprint("receivables", __name__)
PAYMENT_FIELDS = {"paid_amount": 32, "paid_on": 10, "note": 1000}


@bp.get("/receivables")
def index() -> ResponseReturnValue:
    engine = eng()
    me = actor()
    due = request.args.get("due", "week")
    owner = (request.args.get("owner") or "")[:64] or None
    with engine.db.sessions() as session:
        board = engine.receivables.board(session, me, due, owner)
        may_record = {r.task.id for r in board.items if engine.authorization.may_complete(session, me, r.task)}
        owners = engine.customers.owners(session)
    return render_template(
        "receivables/index.html",
        board=board,
        buckets=BUCKETS,
        may_record=may_record,
        owners=owners,
        owner=owner,
        today=engine.identity.today().isoformat(),
    )


@bp.post("/receivables/<task_id>/payment")
def record_payment(task_id: str) -> ResponseReturnValue:
    """One payment from the board: the record_payment task completed with the amount received."""
    back = safe_next(request.form.get("next"), url_for("receivables.index"))
    values = {k: request.form.get(k, "")[:limit] for k, limit in PAYMENT_FIELDS.items() if request.form.get(k)}
    try:
        instance = eng().tasks.complete(actor(), task_id, values)
    except ValidationFailed as exc:
        names = {"paid_amount": _("Amount received"), "paid_on": _("Paid on"), "note": _("Note")}
        problems = "; ".join(f"{names.get(k, k)}: {labels.field_error(v)}" for k, v in exc.fields.items())
        return done(problems, back, "error", events=())
    if instance.status == "completed":
        return done(_("Payment recorded: the receivable is paid in full."), back, events=())
    left = (instance.data or {}).get("outstanding")
    return done(
        _("Payment recorded: %(amount)s still outstanding.", amount=money(left, (instance.data or {}).get("currency"))), back, events=()
    )

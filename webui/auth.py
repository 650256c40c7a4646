"""Login and logout with server-side sessions (Flask-Login), and the interface language."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from engine.errors import EngineError, NotFound, TooManyAttempts
from webui.extensions import LOCALES, WebUser
from webui.i18n import gettext as _
from webui.ui import eng, inbox, page_blueprint, safe_next

bp = page_blueprint("auth", __name__, public=("login", "login_form", "language"))


@bp.get("/login")
def login_form() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("worklist.index")))
    return render_template("login.html", next=request.args.get("next", ""), error=None, username="")


@bp.post("/login")
def login() -> ResponseReturnValue:
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    target = safe_next(request.form.get("next"), url_for("worklist.index"))
    web_user = None
    if username and password:
        # One transaction: authenticate() may upgrade an old password hash, and the session record
        # is written with it.
        try:
            with eng().db.transaction() as db:
                address = request.remote_addr or "-"
                user = eng().identity.authenticate(db, username, password, address)
                if user is not None:
                    secret = eng().identity.start_session(db, user, "browser", address, request.user_agent.string)
                    web_user = WebUser(user, secret)
        except TooManyAttempts:
            error = _("Too many failed logins. Try again in 15 minutes.")
            return render_template("login.html", next=request.form.get("next", ""), error=error, username=username), 429
    if web_user is None:
        error = _("Wrong username or password.")
        return render_template("login.html", next=request.form.get("next", ""), error=error, username=username), 401
    session.clear()  # nothing from before the login survives it
    login_user(web_user)
    session.permanent = True
    return redirect(target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        with eng().db.transaction() as db:
            eng().identity.end_session(db, current_user.get_id())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login_form"))


# --- the user's own sessions: where they are logged in, and ending any of them ------------------


@bp.get("/account/sessions")
def sessions() -> ResponseReturnValue:
    with eng().db.sessions() as db:
        items = eng().identity.sessions_of(db, current_user.user_id)
    return render_template("account/sessions.html", items=items, current=eng().identity.public_id(current_user.get_id()))


@bp.post("/account/sessions/<string(length=16):public_id>/end")
def end_session(public_id: str) -> ResponseReturnValue:
    with eng().db.transaction() as db:
        if not eng().identity.end_session_by_id(db, current_user.user_id, public_id):
            raise NotFound("no such session")
    if public_id == eng().identity.public_id(current_user.get_id()):
        logout_user()
        session.clear()
        return redirect(url_for("auth.login_form"))
    flash(_("The session was ended: whoever used it must log in again."), "success")
    return redirect(url_for("auth.sessions"))


@bp.post("/account/sessions/end-others")
def end_other_sessions() -> ResponseReturnValue:
    with eng().db.transaction() as db:
        ended = eng().identity.end_sessions(db, current_user.user_id, keep=current_user.get_id())
    flash(_("%(num)s other sessions and tokens were ended.", num=ended), "success")
    return redirect(url_for("auth.sessions"))


@bp.post("/settings/language")
def language() -> ResponseReturnValue:
    """Logged in: stored on the user; on the login page: kept in the session until login."""
    locale = request.form.get("locale", "")
    back = safe_next(request.form.get("next"), url_for("worklist.index"))
    if locale not in LOCALES:
        return redirect(back)
    if current_user.is_authenticated:
        try:
            inbox().set_locale(current_user.username, locale, LOCALES)
        except EngineError:
            return redirect(back)
    else:
        session["locale"] = locale
    return redirect(back)

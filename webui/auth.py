"""Login and logout with server-side sessions (Flask-Login), and the interface language."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from engine.errors import EngineError, TooManyAttempts
from webui.extensions import LOCALES, WebUser
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
        # A transaction: authenticate() may upgrade an old password hash, which must be kept
        # (the session id includes a fingerprint of the hash).
        try:
            with eng().db.transaction() as db:
                user = eng().identity.authenticate(db, username, password, request.remote_addr or "-")
                web_user = WebUser(user) if user is not None else None
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
    logout_user()
    session.clear()
    return redirect(url_for("auth.login_form"))


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

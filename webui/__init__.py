"""The web layer: Flask blueprints. Thin: every action is one engine call."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webui.api import bp as api_bp
    from webui.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)

    from webui.pages import register_pages

    register_pages(app)

"""The web layer: Flask blueprints, thin: every action is one engine call, every read a service's.

- `pages.py` registers the page blueprints (one per area: worklist, task, processes, instances,
  notifications, designer, admin, auth); `ui.py` their shared helpers and headers; `context.py`
  and `labels.py` what a task or instance shows and in which language; `templates/`, `static/`,
  `translations/`.
- `api/`: the REST API under /api/v1 (`shapes.py`: the JSON shape of each object).
- `errors.py`: one map from engine errors and HTTP codes to answers, for pages and API alike;
  `documents.py`: how BPMN and DMN documents are served; `cli.py`: the flask commands;
  `extensions.py`: sessions (and the request's read session, `page_session`), CSRF and languages;
  `i18n.py`: the request's catalogue, looked up once; `timing.py`: Server-Timing; `health.py`: /healthz.

May import `engine` and `store` models as types; builds no query (tests/test_layering.py).
"""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webui.api import bp as api_bp
    from webui.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)

    from webui.pages import register_pages

    register_pages(app)

"""The page blueprints (login, worklist, tasks, processes, instances, notifications, and for admins
the designer and the administration), their templates and static files (webui/templates,
webui/static, served under /assets)."""

from __future__ import annotations

from flask import Blueprint, Flask

# Templates and assets of every page blueprint; the vendored libraries are in static/vendor.
assets = Blueprint("assets", __name__, static_folder="static", static_url_path="/assets", template_folder="templates")


def register_pages(app: Flask) -> None:
    from webui import (
        account_pages,
        activities_pages,
        admin_pages,
        auth,
        budgets_pages,
        calendar_pages,
        channels_pages,
        customers_pages,
        designer_pages,
        imports_pages,
        instance_search_pages,
        instances_pages,
        monitor_pages,
        notifications_pages,
        processes_pages,
        receivables_pages,
        reports_pages,
        task_pages,
        worklist,
    )
    from webui.ui import register_template_helpers

    app.register_blueprint(assets)
    pages = (
        auth,
        account_pages,
        worklist,
        task_pages,
        processes_pages,
        instances_pages,
        customers_pages,
        activities_pages,
        imports_pages,
        receivables_pages,
        budgets_pages,
        instance_search_pages,
        reports_pages,
        monitor_pages,
        notifications_pages,
        designer_pages,
        admin_pages,
        channels_pages,
        calendar_pages,
    )
    for module in pages:
        app.register_blueprint(module.bp)
    register_template_helpers(app)

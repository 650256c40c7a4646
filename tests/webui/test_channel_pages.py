"""The notification channels page (admins): add a webhook through the form (a bad address is
refused and nothing is stored), send it a test message that a real HTTP receiver gets signed, see
its last delivery (delivered; then a failed attempt with the error, waiting for its retry), change
it without retyping the secret, remove the secret, remove the channel; others get 403."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from engine.services.management import run_due_jobs
from store.models import NotificationChannel
from tests.api.test_channels_api import Receiver
from tests.webui.conftest import Page


@pytest.fixture
def receiver(engine: ProcessEngine) -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    with engine.db.transaction() as session:  # this test's channels only: the others' notices go nowhere
        for channel in session.scalars(select(NotificationChannel).where(NotificationChannel.url.startswith(found.url))):
            session.delete(channel)


def _channel(engine: ProcessEngine, name: str) -> NotificationChannel | None:
    with engine.db.sessions() as session:
        return session.scalar(select(NotificationChannel).where(NotificationChannel.name == name))


def _delivery(page: Page, channel_id: int) -> str:
    found = re.search(rf'<tr data-channel="{channel_id}">.*?data-delivery="([a-z]*)"(.*?)</td>', page.text("/admin/channels"), re.S)
    assert found is not None
    return found.group(1) + found.group(2)


def test_an_admin_adds_tests_changes_and_removes_a_webhook(
    ui: Callable[[str], Page], engine: ProcessEngine, receiver: Receiver, new_user: Callable[..., str], actors: Callable[[str], Actor]
) -> None:
    admin = ui("admin")
    role = f"hook_{secrets.token_hex(3)}"  # the channel takes notices for a role of the test's own only
    engine.admin.create_role(actors("admin"), {"name": role, "label": role})
    name = f"ERP 接收 {secrets.token_hex(2)}"
    form = {
        "name": name,
        "kind": "webhook",
        "url": "ftp://example.invalid/hook",
        "secret": "s3cret",
        "kinds": ["info"],
        "roles": [role],
        "active": "on",
    }
    refused = admin.post("/admin/channels", form)
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert _channel(engine, name) is None

    assert admin.post("/admin/channels", {**form, "url": f"{receiver.url}/hook"}).status_code == 302
    channel = _channel(engine, name)
    assert channel is not None and channel.secret == "s3cret" and (channel.kinds, channel.roles) == ("info", role)
    listed = admin.text("/admin/channels")
    assert name in listed and "s3cret" not in listed and "s3cret" not in admin.text(f"/admin/channels/{channel.id}")
    assert "nothing sent yet" in _delivery(admin, channel.id) or "尚未发送" in _delivery(admin, channel.id)

    assert admin.post(f"/admin/channels/{channel.id}/test").status_code == 302
    assert receiver.seen == []  # the job runner sends it, not the page
    run_due_jobs(engine)
    (sent,) = receiver.seen
    signed = sent["headers"]["x-crmflow-timestamp"].encode() + b"." + sent["body"]
    assert sent["headers"]["x-crmflow-signature"] == "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert "CRMFlow" in json.loads(sent["body"])["text"]
    assert _delivery(admin, channel.id).startswith("done")

    receiver.failures = 1
    admin.post(f"/admin/channels/{channel.id}/test")
    run_due_jobs(engine)
    shown = _delivery(admin, channel.id)
    assert shown.startswith("pending") and "500" in shown  # the failed attempt's error, waiting for its retry

    kept = admin.post(f"/admin/channels/{channel.id}", {**form, "url": f"{receiver.url}/hook2", "secret": ""})
    assert kept.status_code == 302
    changed = _channel(engine, name)
    assert changed is not None and changed.url.endswith("/hook2") and changed.secret == "s3cret"  # empty: the secret stays
    admin.post(f"/admin/channels/{channel.id}", {**form, "url": f"{receiver.url}/hook2", "secret": "", "clear_secret": "on"})
    cleared = _channel(engine, name)
    assert cleared is not None and not cleared.secret

    assert admin.post(f"/admin/channels/{channel.id}/delete").status_code == 302
    assert _channel(engine, name) is None
    assert admin.get(f"/admin/channels/{channel.id}").status_code == 404


def test_only_admins_see_and_change_channels(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    manager = ui("region_mgr")
    assert manager.get("/admin/channels").status_code == 403
    name = f"x {secrets.token_hex(2)}"
    assert manager.post("/admin/channels", {"name": name, "kind": "webhook", "url": "http://127.0.0.1:9/x"}).status_code == 403
    assert _channel(engine, name) is None
    assert ui("admin").post("/admin/channels", {"name": name}, csrf=False).status_code == 400  # no CSRF token
    assert _channel(engine, name) is None

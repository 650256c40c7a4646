"""Notification channels against a real HTTP receiver started by the test: an admin adds a generic
webhook (HMAC-SHA256 signed), a DingTalk, a Feishu and a WeCom robot; a notice of the chosen kind
for the chosen role becomes one delivery each, sent by the job runner, never by the action; a 500
is retried by the runner and the retry carries the same delivery id; the signatures check out;
non-admins may not configure channels; secrets are never shown."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from engine.services.management import run_due_jobs
from store.models import Job, NotificationChannel
from tests.conftest import Api
from tests.data import approval_request


class Receiver:
    """Records every POST; answers 500 to the first `failures` of them, then 200 `{"errcode": 0}`."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                failing = receiver.failures > 0
                receiver.failures -= 1 if failing else 0
                answer = b'{"errcode": 0, "code": 0}'
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.seen if urlsplit(r["path"]).path == path]


@pytest.fixture
def receiver(api: Api) -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    for channel in api.get("admin", "/api/v1/admin/channels").get_json()["items"]:  # other tests' notices go nowhere
        if channel["url"].startswith(found.url):  # this test's own (tests running beside it keep theirs)
            api.call("DELETE", "admin", f"/api/v1/admin/channels/{channel['id']}")


def _channel(api: Api, **body: Any) -> dict[str, Any]:
    made = api.post("admin", "/api/v1/admin/channels", json={"kinds": ["urge"], "roles": ["region_manager"], **body})
    assert made.status_code == 201, made.get_json()
    return made.get_json()  # type: ignore[no-any-return]


def _urge(api: Api) -> int:
    made = api.post(
        "store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": approval_request("store_expense", 77)}
    )
    instance_id = int(made.get_json()["id"])
    assert api.post("store_staff", f"/api/v1/process-instances/{instance_id}/urge").status_code == 200
    return instance_id


def _run(engine: ProcessEngine, minutes: int = 0) -> None:
    run_due_jobs(engine, engine.clock() + timedelta(minutes=minutes))


def test_a_signed_webhook_gets_the_notice_once_the_runner_sends_it_and_again_after_a_500(
    api: Api, engine: ProcessEngine, receiver: Receiver
) -> None:
    channel = _channel(api, name="ERP 接收", kind="webhook", url=f"{receiver.url}/hook", secret="s3cret")
    assert channel["has_secret"] is True and "secret" not in channel
    receiver.failures = 1
    instance_id = _urge(api)
    assert receiver.seen == []  # the action did not wait for the channel
    _run(engine)
    assert len(receiver.seen) == 1  # answered 500: the job waits for its retry
    _run(engine, minutes=30)
    assert len(receiver.seen) == 2
    first, second = receiver.seen
    assert first["headers"]["x-crmflow-delivery"] == second["headers"]["x-crmflow-delivery"]  # the receiver can drop a repeat
    signed = second["headers"]["x-crmflow-timestamp"].encode() + b"." + second["body"]
    assert second["headers"]["x-crmflow-signature"] == "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    body = json.loads(second["body"])
    assert (body["kind"], body["instance_id"], body["recipients"]) == ("urge", instance_id, ["region_mgr"])
    assert body["link"].endswith(f"/instances/{instance_id}")
    _run(engine, minutes=120)
    assert len(receiver.seen) == 2  # delivered: never again


def test_dingtalk_feishu_and_wecom_robots_get_their_own_formats_and_signatures(api: Api, engine: ProcessEngine, receiver: Receiver) -> None:
    _channel(api, name="钉钉群", kind="dingtalk", url=f"{receiver.url}/ding?access_token=t", secret="SECding")
    _channel(api, name="飞书群", kind="feishu", url=f"{receiver.url}/feishu", secret="SECfei")
    _channel(api, name="企业微信群", kind="wecom", url=f"{receiver.url}/wecom?key=k", locale="en")
    _urge(api)
    _run(engine)
    ding = next(r for r in receiver.seen if r["path"].startswith("/ding"))
    query = parse_qs(urlsplit(ding["path"]).query)
    expected = base64.b64encode(hmac.new(b"SECding", f"{query['timestamp'][0]}\nSECding".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["t"]
    assert json.loads(ding["body"])["msgtype"] == "markdown" and "【催办】" in json.loads(ding["body"])["markdown"]["title"]
    (feishu,) = receiver.bodies("/feishu")
    key = f"{feishu['timestamp']}\nSECfei".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu["msg_type"] == "text"
    (wecom,) = receiver.bodies("/wecom")
    assert wecom["msgtype"] == "markdown" and wecom["markdown"]["content"].startswith("### [Urged]")  # its locale: English


def test_a_channel_takes_only_its_kinds_for_its_roles(api: Api, engine: ProcessEngine, receiver: Receiver) -> None:
    _channel(api, name="财务群", kind="webhook", url=f"{receiver.url}/finance", roles=["finance"])
    _urge(api)  # the urge goes to a region manager: not finance's
    _run(engine)
    assert receiver.bodies("/finance") == []


def test_only_admins_configure_channels_and_bad_ones_are_refused(api: Api, receiver: Receiver) -> None:
    good = {"name": "x", "kind": "webhook", "url": f"{receiver.url}/x"}
    assert api.post("region_mgr", "/api/v1/admin/channels", json=good).status_code == 403
    assert api.get("gm", "/api/v1/admin/channels").status_code == 403
    for bad in (
        {**good, "kind": "telegram"},
        {**good, "url": "file:///etc/passwd"},
        {**good, "url": "javascript:alert(1)"},
        {**good, "kinds": ["Not A Kind!"]},
        {**good, "name": ""},
        {**good, "locale": "fr"},
    ):
        answer = api.post("admin", "/api/v1/admin/channels", json=bad)
        assert answer.status_code == 422, (bad, answer.get_json())
    made = api.post("admin", "/api/v1/admin/channels", json=good).get_json()
    changed = api.call("PATCH", "admin", f"/api/v1/admin/channels/{made['id']}", json={"active": False})
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert api.call("PATCH", "admin", "/api/v1/admin/channels/2147483647", json={"active": True}).status_code == 404
    assert api.call("DELETE", "admin", f"/api/v1/admin/channels/{made['id']}").status_code == 204
    assert api.call("DELETE", "admin", f"/api/v1/admin/channels/{made['id']}").status_code == 404


def test_a_removed_channels_waiting_delivery_never_reaches_the_channel_given_its_number(
    api: Api, engine: ProcessEngine, receiver: Receiver, actors: Callable[[str], Actor]
) -> None:
    # SQLite gives a removed row's id to the next one: the old channel's job must not go to the new.
    old = _channel(api, name="旧群", kind="webhook", url=f"{receiver.url}/old")
    engine.channels.send_test(actors("admin"), old["id"])
    assert api.call("DELETE", "admin", f"/api/v1/admin/channels/{old['id']}").status_code == 204
    with engine.db.transaction() as session:  # a new channel under the same number
        fields = {"name": "新群", "kind": "webhook", "url": f"{receiver.url}/new", "kinds": "", "roles": "", "locale": "zh_CN"}
        session.add(NotificationChannel(id=old["id"], active=True, created_at=engine.clock(), **fields))
    _run(engine)
    assert receiver.seen == []
    with engine.db.sessions() as session:
        assert old["id"] not in engine.channels.deliveries(session, actors("admin"))


def test_a_webhook_sent_again_after_a_crash_carries_the_same_delivery_id(api: Api, engine: ProcessEngine, receiver: Receiver) -> None:
    # At least once: a worker killed after the receiver took the notice but before the job was
    # recorded sends it again, with the delivery id and signature of the first, so the receiver
    # can drop the repeat; the next notice has an id of its own.
    _channel(api, name="ERP 接收", kind="webhook", url=f"{receiver.url}/hook", secret="s3cret")
    _urge(api)
    _run(engine)
    assert len(receiver.seen) == 1
    delivery = receiver.seen[0]["headers"]["x-crmflow-delivery"]
    job_id = int(delivery.removeprefix("crmflow-"))
    with engine.db.transaction() as session:  # the crash: delivered, never marked done
        job = session.get(Job, job_id)
        assert job is not None and job.kind == "channel" and job.status == "done"
        job.status = "pending"
    _run(engine)
    assert [r["headers"]["x-crmflow-delivery"] for r in receiver.seen] == [delivery, delivery]
    assert receiver.seen[0]["body"] == receiver.seen[1]["body"]
    _urge(api)
    _run(engine)
    assert len(receiver.seen) == 3 and receiver.seen[2]["headers"]["x-crmflow-delivery"] != delivery

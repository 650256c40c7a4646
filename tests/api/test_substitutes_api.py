"""Out of office over the API (`/me/substitute`, `/users/{username}/substitute`): naming, showing
and ending a substitute, who may, and the substitute's work and history through the task API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.data import approval_request
from tests.flow import Flow

PASSWORD = "demo pass"  # tests.conftest.new_user


@pytest.fixture
def people(new_user: Callable[..., str]) -> dict[str, str]:
    """A region manager who goes away, a colleague of theirs who stands in, and store staff of the
    manager's own region, whose requests go to them."""
    away = new_user("away", ["region_manager"], superior="ops_mgr")
    return {
        "away": away,
        "stand_in": new_user("cover", ["store_staff"], superior="ops_mgr"),
        "requester": new_user("req", ["store_staff"], superior=away),
    }


def _as(api: Api, username: str) -> dict[str, str]:
    if username not in api.tokens:
        response = api.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        api.tokens[username] = response.get_json()["token"]
    return {"Authorization": f"Bearer {api.tokens[username]}"}


def _call(api: Api, method: str, username: str, path: str, **kwargs: Any) -> Any:
    return api.client.open(path, method=method, headers=_as(api, username), **kwargs)


def test_name_show_use_and_end_ones_own_substitute(api: Api, flow: Flow, people: dict[str, str]) -> None:
    away, stand_in = people["away"], people["stand_in"]
    today = flow.engine.identity.today()
    body = {"username": stand_in, "from": today.isoformat(), "until": (today + timedelta(days=4)).isoformat()}

    assert _call(api, "GET", away, "/api/v1/me/substitute").get_json()["substitute"] is None
    named = _call(api, "PUT", away, "/api/v1/me/substitute", json=body)
    assert named.status_code == 200, named.get_json()
    assert named.get_json()["substitute"] == {**body, "username": away, "substitute": stand_in, "set_by": away, "active": True}
    shown = _call(api, "GET", stand_in, "/api/v1/me/substitute").get_json()
    assert [c["username"] for c in shown["covering"]] == [away]

    instance = flow.start(people["requester"], "approval_chain", approval_request("store_expense", 650))
    step = flow.task(instance.id, "approve")
    listed = _call(api, "GET", stand_in, f"/api/v1/tasks?scope=substitute&instance_id={instance.id}").get_json()
    assert [t["id"] for t in listed["items"]] == [step.id]
    done = _call(api, "POST", stand_in, f"/api/v1/tasks/{step.id}/complete", json={"data": {"decision": "approve"}})
    assert done.status_code == 200, done.get_json()
    history = api.get("admin", f"/api/v1/process-instances/{instance.id}").get_json()["history"]
    assert [(h["user"], h["on_behalf_of"]) for h in history if h["action"] == "complete"] == [(stand_in, away)]

    assert _call(api, "DELETE", away, "/api/v1/me/substitute").status_code == 204
    assert _call(api, "GET", away, "/api/v1/me/substitute").get_json()["substitute"] is None
    later = flow.start(people["requester"], "approval_chain", approval_request("store_expense", 640))
    listed = _call(api, "GET", stand_in, f"/api/v1/tasks?scope=substitute&instance_id={later.id}").get_json()
    assert listed["items"] == []  # ended: nothing more is theirs


def test_who_may_name_someone_elses_substitute(api: Api, flow: Flow, people: dict[str, str]) -> None:
    away, stand_in = people["away"], people["stand_in"]
    today = flow.engine.identity.today().isoformat()
    body = {"username": stand_in, "from": today, "until": today}
    path = f"/api/v1/users/{away}/substitute"
    assert _call(api, "PUT", stand_in, path, json=body).status_code == 403  # a colleague
    assert api.call("PUT", "sales1", path, json=body).status_code == 403
    assert api.call("PUT", "ops_mgr", path, json=body).status_code == 200  # their superior
    assert api.get("admin", path).get_json()["substitute"]["set_by"] == "ops_mgr"
    assert api.call("DELETE", "admin", path).status_code == 204
    assert api.get("admin", "/api/v1/users/nobody_at_all/substitute").status_code == 404
    bad = api.call("PUT", "admin", path, json={"username": away, "from": today, "until": "someday"}).get_json()
    assert set(bad["fields"]) == {"username", "until"}
    assert api.call("PUT", "admin", path, data="[]", content_type="application/json").status_code == 400
    assert api.get("admin", path).get_json()["substitute"] is None  # nothing was written

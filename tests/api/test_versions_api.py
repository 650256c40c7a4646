"""Versions: a diff of two versions, migrating running instances (dry run first), and a decision
table change that gives new instances a new process version while running ones keep theirs."""

from __future__ import annotations

import io
from typing import Any

from tests.conftest import FIXTURES, Api

BASE = (FIXTURES / "simple_review.bpmn").read_bytes().replace(b'id="simple_review"', b'id="migratable"')
V2 = BASE.replace(b'name="Review"', b'name="Review (v2)"').replace(
    b'<camunda:formField id="comment"',
    b'<camunda:formField id="reviewer_note" label="Note" type="string" /><camunda:formField id="comment"',
)
V3 = (
    BASE.replace(b'id="review"', b'id="review_again"')
    .replace(b'attachedToRef="review"', b'attachedToRef="review_again"')
    .replace(b'targetRef="review"', b'targetRef="review_again"')
    .replace(b'sourceRef="review"', b'sourceRef="review_again"')
)


def _deploy(api: Api, xml: bytes) -> int:
    response = api.post("admin", "/api/v1/process-definitions", data=xml, content_type="application/xml")
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["deployed"][0]["version"])


def _start(api: Api, key: str, data: dict[str, Any]) -> dict[str, Any]:
    response = api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": key, "data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_diff_dry_run_migrate_and_finish_on_the_new_version(api: Api) -> None:
    v1 = _deploy(api, BASE)
    running = [_start(api, "migratable", {"title": f"m{i}", "amount": 5}) for i in range(3)]
    v2 = _deploy(api, V2)
    v3 = _deploy(api, V3)
    assert v1 < v2 < v3

    diff = api.get("admin", f"/api/v1/process-definitions/migratable/diff?from={v1}&to={v2}").get_json()
    assert [c["id"] for c in diff["changed"]] == ["review"] and diff["added"] == [] and diff["removed"] == []
    diff3 = api.get("admin", f"/api/v1/process-definitions/migratable/diff?from={v1}&to={v3}").get_json()
    assert "review" in [r["id"] for r in diff3["removed"]] and "review_again" in [a["id"] for a in diff3["added"]]
    assert api.get("cs_sup", f"/api/v1/process-definitions/migratable/diff?from={v1}&to={v2}").status_code == 403

    ids = [r["id"] for r in running]
    refused = api.post("admin", "/api/v1/process-definitions/migratable/migrations", json={"to_version": v3, "instance_ids": ids})
    assert {r["status"] for r in refused.get_json()["results"]} == {"incompatible"}
    assert "review" in refused.get_json()["results"][0]["problems"][0]

    plan = api.post(
        "admin", "/api/v1/process-definitions/migratable/migrations", json={"to_version": v2, "instance_ids": ids[:2]}
    ).get_json()
    assert plan["dry_run"] is True and plan["counts"] == {"planned": 2}
    assert api.get("admin", f"/api/v1/process-instances/{ids[0]}").get_json()["version"] == v1  # a dry run changes nothing

    claimed = running[0]["tasks"][0]["id"]
    assert api.post("cs_sup", f"/api/v1/tasks/{claimed}/claim").status_code == 200
    done = api.post(
        "admin", "/api/v1/process-definitions/migratable/migrations", json={"to_version": v2, "instance_ids": ids[:2], "dry_run": False}
    ).get_json()
    assert done["counts"] == {"migrated": 2}
    moved = api.get("admin", f"/api/v1/process-instances/{ids[0]}").get_json()
    assert moved["version"] == v2 and moved["tasks"][0]["name"] == "Review (v2)" and moved["tasks"][0]["assignee"] == "cs_sup"
    assert ("migrate", None) in [(h["action"], h["task_key"]) for h in moved["history"]]
    assert api.get("admin", f"/api/v1/process-instances/{ids[2]}").get_json()["version"] == v1

    task = moved["tasks"][0]
    assert "reviewer_note" in [f["id"] for f in api.get("cs_sup", f"/api/v1/tasks/{task['id']}").get_json()["form"]]
    finished = api.post("cs_sup", f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True, "reviewer_note": "ok"}})
    assert finished.status_code == 200 and finished.get_json()["instance"]["status"] == "completed"
    assert api.post("cs_sup", "/api/v1/process-definitions/migratable/migrations", json={"to_version": v2}).status_code == 403


def test_a_new_decision_table_gives_new_instances_a_new_version(api: Api) -> None:
    deployed = api.post(
        "admin",
        "/api/v1/process-definitions",
        data={
            "file": [
                (io.BytesIO((FIXTURES / "discount_rule.dmn").read_bytes()), "discount_rule.dmn"),
                (io.BytesIO((FIXTURES / "discount_quote.bpmn").read_bytes()), "discount_quote.bpmn"),
            ]
        },
        content_type="multipart/form-data",
    )
    assert deployed.status_code == 201, deployed.get_json()
    before = _start(api, "discount_quote", {"tier": "gold"})
    assert before["data"]["discount"] == 5
    richer = (FIXTURES / "discount_rule.dmn").read_bytes().replace(b"<text>5</text>", b"<text>7</text>")
    redeployed = api.post(
        "admin",
        "/api/v1/process-definitions",
        data={"file": [(io.BytesIO(richer), "discount_rule.dmn")]},
        content_type="multipart/form-data",
    )
    assert redeployed.status_code == 201, redeployed.get_json()
    assert [d["key"] for d in redeployed.get_json()["deployed"]] == ["discount_quote"]
    after = _start(api, "discount_quote", {"tier": "gold"})
    assert after["data"]["discount"] == 7 and after["version"] == before["version"] + 1
    assert api.get("admin", f"/api/v1/process-instances/{before['id']}").get_json()["version"] == before["version"]

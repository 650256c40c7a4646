"""A complaint from registration to archive through the REST API, as the demo users would drive it
from another program: every step, a return without and with a reason, the history it leaves."""

from __future__ import annotations

from tests.api.test_processes_api import _complete, _task
from tests.conftest import Api
from tests.data import COMPLAINT


def test_a_complaint_from_registration_to_archive_through_the_api(api: Api) -> None:
    response = api.post(
        "cs_agent1",
        "/api/v1/process-instances",
        json={"process_key": "complaint_handling", "data": COMPLAINT, "business_key": "TS-2026-001"},
    )
    assert response.status_code == 201, response.get_json()
    instance = response.get_json()
    iid = instance["id"]
    assert instance["status"] == "running" and instance["started_by"] == "cs_agent1" and instance["version"] >= 1
    assert [t["task_key"] for t in instance["tasks"]] == ["assess"]

    assess = _task(api, "cs_sup", iid, "assess")
    detail = api.get("cs_sup", f"/api/v1/tasks/{assess['id']}").get_json()
    assert {f["id"] for f in detail["form"]} >= {"valid", "note"}
    assert detail["context"]["customer"] == COMPLAINT["customer"]
    assert api.get("sales1", f"/api/v1/tasks/{assess['id']}").status_code == 404

    assert api.post("cs_sup", f"/api/v1/tasks/{assess['id']}/claim").status_code == 200
    assert _task(api, "cs_sup", iid, "assess", scope="mine")["assignee"] == "cs_sup"
    _complete(api, "cs_sup", assess["id"], {"valid": True, "note": "属实"})
    _complete(api, "cs_sup", _task(api, "cs_sup", iid, "assign_department")["id"], {"department": "quality"})
    analyze = _task(api, "qa_staff", iid, "analyze_cause")
    assert analyze["candidate_roles"] == ["quality"]
    _complete(api, "qa_staff", analyze["id"], {"cause": "包装不达标", "responsible_person": "qa_staff"})
    _complete(
        api,
        "qa_staff",
        _task(api, "qa_staff", iid, "propose_resolution", scope="mine")["id"],
        {"resolution_type": "refund", "amount": 3000, "plan": "退款"},
    )

    leader = _task(api, "vp_service", iid, "leader_approval")
    bad = api.post("vp_service", f"/api/v1/tasks/{leader['id']}/complete", json={"data": {"decision": "return"}})
    assert bad.status_code == 422 and "comment" in bad.get_json()["fields"]
    _complete(api, "vp_service", leader["id"], {"decision": "return", "comment": "请核实金额"})
    _complete(
        api,
        "qa_staff",
        _task(api, "qa_staff", iid, "propose_resolution", scope="mine")["id"],
        {"resolution_type": "refund", "amount": 2000, "plan": "部分退款"},
    )
    _complete(api, "vp_service", _task(api, "vp_service", iid, "leader_approval")["id"], {"decision": "approve"})
    _complete(api, "gm", _task(api, "gm", iid, "gm_approval")["id"], {"decision": "approve"})
    _complete(
        api, "qa_staff", _task(api, "qa_staff", iid, "implement", scope="mine")["id"], {"customer_notified": True, "feedback": "满意"}
    )
    final = _complete(api, "cs_sup", _task(api, "cs_sup", iid, "summarize")["id"], {"summary": "归档"})

    assert final["status"] == "completed" and final["data"]["outcome"] == "resolved"
    assert final["tasks"] == []
    actions = [(h["action"], h["task_key"]) for h in final["history"]]
    assert actions[0] == ("start", None) and actions[-1] == ("end", None)
    assert ("claim", "assess") in actions
    listed = api.get("cs_agent1", "/api/v1/process-instances?process_key=complaint_handling&status=completed").get_json()
    assert iid in [i["id"] for i in listed["items"]]
    assert iid not in [i["id"] for i in api.get("sales1", "/api/v1/process-instances").get_json()["items"]]

"""The task page: business context first, the generated form with server-side field messages, the
supervisor's approval page, the history and the diagram state; the start and instance pages."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from html import unescape

from tests.data import COMPLAINT, approval_request
from tests.flow import Flow
from tests.webui.conftest import Page


def to_leader(flow: Flow) -> int:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"海联{secrets.token_hex(3)}"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
    flow.complete("qa_staff", instance.id, "analyze_cause", {"cause": "包装不达标", "responsible_person": "李工"})
    flow.complete(
        "qa_staff", instance.id, "propose_resolution", {"resolution_type": "compensation", "amount": 5000, "plan": "赔偿受潮货物"}
    )
    return instance.id


def labelled_inputs(html: str) -> None:
    """Every visible input, select and textarea has a label (for=id) or sits in a labelled group."""
    form = html.split("data-task-form", 1)[1].split("</form>", 1)[0]
    ids = set(re.findall(r'<label for="([^"]+)"', form))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", form):
        if 'type="hidden"' in tag:
            continue
        if 'type="radio"' in tag:
            continue  # radios sit inside <label class="choice|decision"> within a <fieldset> with a <legend>
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id and field_id.group(1) in ids, tag


def test_the_start_form_is_generated_with_labels_and_server_messages(ui: Callable[[str], Page]) -> None:
    page = ui("cs_agent1")
    html = page.text("/processes/complaint_handling/start")
    labelled_inputs(html)
    assert "客户名称" in html and '<option value="quality"' in html and 'value="normal" selected' in html
    response = page.post("/processes/complaint_handling/start", {"customer": "", "category": "weather", "severity": "high"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="err-customer">此项必填', body) and re.search(r'id="err-category">请选择一个选项', body)
    assert 'aria-invalid="true" aria-describedby="err-customer"' in body
    assert 'value="high" checked' in body or '<option value="high" selected' in body  # what was typed is kept


def test_a_task_form_shows_field_level_messages_and_keeps_the_input(flow: Flow, ui: Callable[[str], Page]) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"表单{secrets.token_hex(3)}"})
    task = flow.task(instance.id, "assess").id
    page = ui("cs_sup")
    html = page.text(f"/tasks/{task}")
    labelled_inputs(html)
    assert html.index("客户投诉登记表") < html.index('id="task-form"') < html.index('id="history-title"') < html.index('id="diagram"')
    response = page.post(f"/tasks/{task}", {"note": "再核实", "hack": "x"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="err-valid">此项必填' in body and "再核实" in body
    assert flow.task(instance.id, "assess").status == "open"
    done = page.post(f"/tasks/{task}", {"valid": "true", "note": "属实"})
    assert done.status_code == 302 and done.headers["Location"] == "/tasks"
    assert flow.task_keys(instance.id) == ["assign_department"]
    department = page.text(f"/tasks/{flow.task(instance.id, 'assign_department').id}")
    assert '<option value="quality" selected>质量部</option>' in department  # the rule's proposal is the default


def test_the_supervisor_sees_complaint_analysis_and_proposal_side_by_side(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid = to_leader(flow)
    task = flow.task(iid, "leader_approval").id
    html = ui("vp_service").text(f"/tasks/{task}")
    grid = html.split('class="side-by-side cols-3"', 1)[1].split('id="decisions-title"', 1)[0]
    assert [t for t in ("客户投诉登记表", "责任部门分析", "处理方案") if t in grid] == ["客户投诉登记表", "责任部门分析", "处理方案"]
    assert "¥5,000.00" in grid and "包装不达标" in grid and "赔偿受潮货物" in grid and "到港货物外箱破损" in grid
    assert 'class="decision decision-approve"' in html and 'class="decision decision-return"' in html
    assert "提交意见" in html


def test_a_return_needs_a_comment_and_the_department_sees_why(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid = to_leader(flow)
    leader = flow.task(iid, "leader_approval").id
    refused = ui("vp_service").post(f"/tasks/{leader}", {"decision": "return", "comment": " "})
    assert refused.status_code == 422 and "退回或驳回时必须填写说明" in refused.get_data(as_text=True)
    assert ui("vp_service").post(f"/tasks/{leader}", {"decision": "return", "comment": "赔偿金额过高"}).status_code == 302
    propose = flow.task(iid, "propose_resolution").id
    rework = ui("qa_staff").text(f"/tasks/{propose}")
    assert "callout-returned" in rework and "分管副总" in rework and "赔偿金额过高" in rework
    flow.complete("qa_staff", iid, "propose_resolution", {"resolution_type": "discount", "amount": 2000, "plan": "下批货折价"})
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve", "comment": "同意"})
    gm = flow.task(iid, "gm_approval").id
    # the general manager's form leaves the comment optional; the UI still asks why on a return
    gm_refused = ui("gm").post(f"/tasks/{gm}", {"decision": "return"})
    assert gm_refused.status_code == 422 and flow.task_keys(iid) == ["gm_approval"]
    page = ui("gm").text(f"/tasks/{gm}")
    history = page.split('id="decisions-title"', 1)[1].split("</section>", 1)[0]
    assert history.index("赔偿金额过高") < history.index("同意")
    assert "¥2,000.00" in page


def test_the_approval_request_page_shows_the_chain_and_its_history(flow: Flow, ui: Callable[[str], Page]) -> None:
    title = f"合同{secrets.token_hex(3)}"
    instance = flow.start("sales1", "approval_chain", {"request_type": "contract", "title": title, "amount": 150000, "currency": "CNY"})
    flow.complete("sales_dir", instance.id, "approve", {"decision": "approve", "comment": "可以"})
    step = flow.task(instance.id, "approve").id
    html = ui("fin_mgr").text(f"/tasks/{step}")
    assert "审批申请" in html and title in html and "¥150,000.00" in html and "合同" in html
    chain = html.split('class="chain"', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r"chain-step chain-(\w+)", chain) == ["done", "current", "todo"]
    assert "销售总监" in chain and "财务" in chain and "总经理" in chain
    assert "decision decision-reject" in html and "可以" in html


def test_the_instance_page_shows_status_data_diagram_state_and_history(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid = to_leader(flow)
    html = ui("cs_agent1").text(f"/instances/{iid}")
    assert "进行中" in html and "分管领导批示" in html and "赔偿受潮货物" in html
    state = json.loads(unescape(re.search(r"data-state='([^']+)'", html).group(1)))  # type: ignore[union-attr]
    assert state["active"] == ["leader_approval"]
    assert {"start", "assess", "assign_department", "analyze_cause", "propose_resolution"} <= set(state["completed"])
    assert ["propose_resolution", "leader_approval"] in state["flows"] and ["assess", "gw_valid"] in state["flows"]
    assert "leader_approval" not in state["completed"]
    xml = ui("cs_agent1").get(f"/instances/{iid}/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b'id="leader_approval"' in xml.data
    timeline = html.split('id="history-title"', 1)[1]
    assert timeline.index("提出处理方案") < timeline.index("判断投诉是否成立")  # newest first
    # the agent may follow the instance but the open task is not theirs to open
    assert f'href="/tasks/{flow.task(iid, "leader_approval").id}"' not in html


def test_english_pages_use_the_english_names(flow: Flow, fresh: Callable[[str], Page]) -> None:
    iid = to_leader(flow)
    page = fresh("vp_service")
    page.login()
    page.post("/settings/language", {"locale": "en"})
    try:
        html = page.text(f"/tasks/{flow.task(iid, 'leader_approval').id}")
        for text in (
            "Division leader&#39;s instruction",
            "Complaint register",
            "Proposed resolution",
            "Compensation",
            "Approve",
            "Return",
            "Customer",
        ):
            assert text in html, text
        assert "Complaint handling #" in html
    finally:
        page.post("/settings/language", {"locale": "zh_CN"})


def test_notifications_page_opens_and_marks_read(flow: Flow, ui: Callable[[str], Page]) -> None:
    title = f"费用{secrets.token_hex(3)}"
    instance = flow.start("store_staff", "approval_chain", {"request_type": "store_expense", "title": title, "amount": 800})
    flow.complete("region_mgr", instance.id, "approve", {"decision": "reject", "comment": "超预算"})
    page = ui("store_staff")
    html = page.text("/notifications?show=unread")
    assert f"您的申请「{title}」已被驳回：超预算" in html and "已驳回" in html
    assert re.search(r'id="unread-badge"[^>]*>\s*<span aria-hidden="true">\d+</span>', page.text("/tasks"))
    note = re.search(
        r"/notifications/(\d+)/open\"[^<]*<input[^>]*>\s*<button[^>]*>[^<]*<span class=\"sr-only\">[^<]*</span></button>\s*</form>\s*</li>",
        html,
    )
    assert note is not None
    opened = page.post(f"/notifications/{note.group(1)}/open")
    assert opened.headers["Location"] == f"/instances/{instance.id}"
    assert page.post("/notifications/read-all").status_code == 302
    assert title not in page.text("/notifications?show=unread")
    assert title in page.text("/notifications")


def test_an_assignment_notice_names_the_task_in_the_users_language(flow: Flow, fresh: Callable[[str], Page]) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"通知{secrets.token_hex(3)}"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    flow.engine.tasks.assign(flow.actor("cs_sup"), flow.task(instance.id, "reply_invalid").id, "cs_agent2")
    page = fresh("cs_agent2")
    page.login()
    assert "委婉答复客户" in page.text("/notifications?show=unread")
    page.post("/settings/language", {"locale": "en"})
    try:
        assert "Reply courteously to the customer" in page.text("/notifications?show=unread")
    finally:
        page.post("/settings/language", {"locale": "zh_CN"})


def test_the_start_page_diagram_is_for_those_who_may_start(ui: Callable[[str], Page]) -> None:
    xml = ui("cs_agent1").get("/processes/complaint_handling/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b'id="complaint_handling"' in xml.data
    assert ui("sales1").get("/processes/complaint_handling/diagram.bpmn").status_code == 404
    assert ui("cs_agent1").get("/processes/no_such_process/diagram.bpmn").status_code == 404


def test_a_requester_sees_why_they_cannot_decide_their_own_request(flow: Flow, ui: Callable[[str], Page]) -> None:
    instance = flow.start("ops_mgr", "approval_chain", approval_request("department_expense", 20000))
    step = flow.task(instance.id, "approve")
    own = ui("ops_mgr").text(f"/tasks/{step.id}")
    assert "data-four-eyes" in own and "四眼原则" in own and "data-task-form" not in own and "data-shortcut-claim" not in own
    refused = ui("ops_mgr").post(f"/tasks/{step.id}", {"decision": "approve"})
    assert refused.status_code == 403 and "四眼原则" in refused.get_data(as_text=True)
    superior = ui("gm").text(f"/tasks/{step.id}")
    assert "data-task-form" in superior and "data-four-eyes" not in superior
    assert flow.task(instance.id, "approve").id == step.id  # nothing changed


def test_a_directors_approval_of_a_lead_reads_in_chinese_in_the_history(flow: Flow, ui: Callable[[str], Page]) -> None:
    """#13.8: the lead process has two `decision` fields (duplicate: merge/keep; director:
    approve/reject); the labels came from the first only, so the director's 同意 showed "Approve"."""
    tag = secrets.token_hex(3)
    instance = flow.start(
        "sales1", "lead_qualification", {"company": f"象山{tag}渔具", "phone": "0574-65001234", "source": "web", "estimated_value": 500000}
    )
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve", "comment": f"可以{tag}"})
    page = unescape(ui("sales_dir").text(f"/instances/{instance.id}"))
    assert "同意" in page and "Approve" not in page


def test_after_a_step_the_page_goes_straight_on_to_the_same_persons_next_step(flow: Flow, ui: Callable[[str], Page]) -> None:
    """#13.4: the handler who analysed the cause keeps the proposal; the page opens it next."""
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"下一步{secrets.token_hex(3)}"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
    analysis = flow.task(instance.id, "analyze_cause").id
    page = ui("qa_staff")
    done = page.post(f"/tasks/{analysis}", {"cause": "包装不达标", "responsible_person": "qa_staff"})
    proposal = flow.task(instance.id, "propose_resolution")
    assert proposal.assignee == "qa_staff"
    assert done.status_code == 302 and done.headers["Location"] == f"/tasks/{proposal.id}"

"""The demo organisation of docs/domain.md, and the shipped processes' files; `seed-demo` loads both."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import process_parts
from engine.process_engine import ProcessEngine
from engine.services.identity import hash_password
from engine.services.repository import Deployed
from store.models import Department, Role, User

DEMO_PASSWORD = "demo"

ROLES = {
    "admin": "系统管理员",
    "gm": "总经理",
    "division_leader": "分管领导",
    "ops_manager": "运营经理",
    "region_manager": "区域经理",
    "store_staff": "门店店员",
    "finance": "财务",
    "marketing_manager": "市场经理",
    "cs_supervisor": "客服主管",
    "cs_agent": "客服专员",
    "transport": "国运部",
    "customs": "报关部",
    "quality": "质量部",
    "dept_lead": "部门负责人",
    "sales_director": "销售总监",
    "sales": "业务员",
    "sales_assistant": "业务助理",
}

# code: (name, English name, parent code, manager username)
DEPARTMENTS = {
    "it": ("信息技术部", "IT", None, "admin"),
    "general": ("总经办", "General management", None, "gm"),
    "operations": ("运营部", "Operations", "general", "ops_mgr"),
    "east_region": ("华东区", "Operations, East region", "operations", "region_mgr"),
    "ningbo_store": ("宁波门店", "Operations, Ningbo store", "east_region", "region_mgr"),
    "finance": ("财务部", "Finance", "general", "fin_mgr"),
    "marketing": ("市场部", "Marketing", "general", "mkt_mgr"),
    "customer_service": ("客服部", "Customer service", "general", "cs_sup"),
    "transport": ("国运部", "International transport", "general", "tr_lead"),
    "customs": ("报关部", "Customs brokerage", "general", "cu_lead"),
    "quality": ("质量部", "Quality", "general", "qa_lead"),
    "sales": ("销售部", "Sales", "general", "sales_dir"),
}

# username: (name, department code, roles, reports to)
USERS = {
    "admin": ("系统管理员", "it", ["admin"], None),
    "gm": ("总经理", "general", ["gm"], None),
    "vp_service": ("分管副总", "general", ["division_leader"], "gm"),
    "ops_mgr": ("运营经理", "operations", ["ops_manager"], "gm"),
    "region_mgr": ("区域经理", "east_region", ["region_manager"], "ops_mgr"),
    "store_staff": ("门店店员", "ningbo_store", ["store_staff"], "region_mgr"),
    "fin_mgr": ("财务经理", "finance", ["finance"], "gm"),
    "mkt_mgr": ("市场经理", "marketing", ["marketing_manager"], "gm"),
    "cs_sup": ("客服主管", "customer_service", ["cs_supervisor"], "vp_service"),
    "cs_agent1": ("客服专员一", "customer_service", ["cs_agent"], "cs_sup"),
    "cs_agent2": ("客服专员二", "customer_service", ["cs_agent"], "cs_sup"),
    "tr_lead": ("国运部经理", "transport", ["transport", "dept_lead"], "vp_service"),
    "tr_staff": ("国运部专员", "transport", ["transport"], "tr_lead"),
    "cu_lead": ("报关部经理", "customs", ["customs", "dept_lead"], "vp_service"),
    "cu_staff": ("报关专员", "customs", ["customs"], "cu_lead"),
    "qa_lead": ("质量部经理", "quality", ["quality", "dept_lead"], "vp_service"),
    "qa_staff": ("质检专员", "quality", ["quality"], "qa_lead"),
    "sales_dir": ("销售总监", "sales", ["sales_director"], "gm"),
    "sales1": ("业务员一", "sales", ["sales"], "sales_dir"),
    "sales2": ("业务员二", "sales", ["sales"], "sales_dir"),
    "sales_asst": ("业务助理", "sales", ["sales_assistant"], "sales_dir"),
}


def seed_organisation(session: Session, now_fn=None) -> int:  # type: ignore[no-untyped-def]
    """Create what is missing of the demo organisation; returns how many users were created."""
    from engine.clock import utcnow

    now = (now_fn or utcnow)()
    roles = {r.name: r for r in session.scalars(select(Role))}
    for name, label in ROLES.items():
        if name not in roles:
            roles[name] = Role(name=name, label=label)
            session.add(roles[name])
    departments = {d.code: d for d in session.scalars(select(Department))}
    for code, (name, name_en, _parent, _manager) in DEPARTMENTS.items():
        if code not in departments:
            departments[code] = Department(code=code, name=name, name_en=name_en)
            session.add(departments[code])
    session.flush()
    users = {u.username: u for u in session.scalars(select(User))}
    created = 0
    password_hash = hash_password(DEMO_PASSWORD)
    for username, (name, dept, role_names, _superior) in USERS.items():
        if username in users:
            continue
        user = User(
            username=username,
            display_name=name,
            email=f"{username}@nbkk.example",
            password_hash=password_hash,
            active=True,
            locale="zh_CN",
            department_id=departments[dept].id,
            created_at=now,
        )
        user.roles = [roles[r] for r in role_names]
        session.add(user)
        users[username] = user
        created += 1
    session.flush()
    for username, (_n, _d, _r, superior) in USERS.items():
        if superior and users[username].superior_id is None:
            users[username].superior_id = users[superior].id
    for code, (_n, _e, parent, manager) in DEPARTMENTS.items():
        dept = departments[code]
        if parent and dept.parent_id is None:
            dept.parent_id = departments[parent].id
        if manager and dept.manager_id is None:
            dept.manager_id = users[manager].id
    return created


def shipped_files() -> list[tuple[str, bytes]]:
    """Every registered process package's BPMN and DMN files (processes/<key>/)."""
    return [(path.name, path.read_bytes()) for parts in process_parts.registered() for path in parts.files]


def seed_demo(engine: ProcessEngine) -> tuple[int, list[Deployed]]:
    with engine.db.transaction() as session:
        created = seed_organisation(session, engine.clock)
    deployed = engine.repository.deploy(shipped_files(), "admin", once=True)  # never over an admin's later version
    return created, deployed

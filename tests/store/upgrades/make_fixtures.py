"""Make the upgrade fixtures: databases written by every earlier version of CRMFlow itself.

Run by hand, from the repository root, with PostgreSQL at TEST_POSTGRES_DSN (default
postgresql://postgres@127.0.0.1:5432/postgres) and pg_dump on PATH; the suite never runs it:

    .venv/bin/python tests/store/upgrades/make_fixtures.py            # every revision
    .venv/bin/python tests/store/upgrades/make_fixtures.py 0003_job_runner 0010_customer_file

For each Alembic revision R before the newest one it takes the last commit whose newest
migration is R (the parent of the commit that added the next migration's file), extracts that
commit's tree into a temporary directory and runs this same file inside it, with the current
virtualenv's Python and the old tree as working directory and PYTHONPATH, in two phases:

explore  on a scratch database: that version's own schema upgrade (store.schema or, before
         0006, store.migrate) and demo seed (processes.demo.seed_demo, what `flask --app app
         db-upgrade` and `seed-demo` do), then, for each shipped process the version has, starts
         instances (STARTS: the data its tests use) and drives copies of them breadth-first with
         that version's engine (runtime.start, tasks.details/claim/complete, its job runner): every
         open task is completed once per way through its form that a gateway can tell apart
         (steps.choices: each option of an enum or boolean field a condition reads), by the first
         candidate the version lets do it, and time is moved on to the instance's next timer. A
         path is a list of such steps; it is replayed from the start for every copy.
replay   on a fresh database, the same upgrade and seed, then the fewest paths that leave some
         instance waiting at every user task and every timer the exploration reached (and one
         instance of every start variant), each checked to wait where it waited before.

The replayed database is dumped with `pg_dump --no-owner --no-privileges` (plain SQL) to
fixtures/<R>.sql.gz, with fixtures/<R>.json naming each instance's waits, and fixtures/README.md
lists the revisions covered and skipped, with the reason.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parents[2]
VERSIONS = Path("store/migrations/versions")
ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
MAX_STEPS = 12  # the longest way through a shipped process is 8 tasks and a few timers
MAX_COPIES = 160  # instances explored per process at most

SEED_COMPANY = "宁波升级测试先到贸易有限公司"  # an earlier lead of this name makes later ones duplicates


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


# process key -> start variant -> (who starts it, what they enter; "{unique}" a fresh token each time)
STARTS: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "approval_chain": {
        "store expense": ("store_staff", {"request_type": "store_expense", "title": "门店物料采购{unique}", "amount": 1200}),
        "contract over 100,000": ("sales1", {"request_type": "contract", "title": "年度运输合同{unique}", "amount": 150000}),
    },
    "complaint_handling": {
        "transport complaint": (
            "cs_agent1",
            {"customer": "宁波升级测试客户{unique}", "category": "transport", "description": "货物延误三天"},
        ),
        "service complaint": ("cs_agent1", {"customer": "宁波升级测试客户{unique}", "category": "service", "description": "态度不好"}),
    },
    "lead_qualification": {
        "new lead": ("sales1", {"company": "宁波升级测试{unique}贸易有限公司", "source": "network"}),
        "duplicate lead": ("sales1", {"company": SEED_COMPANY, "source": "referral"}),
    },
    "receivable_collection": {
        "due in 20 days": (
            "sales_asst",
            {"customer": "慈溪升级测试{unique}电器有限公司", "contract_no": "HT-{unique}", "amount": 1000, "due_date": _in(20)},
        ),
        "due in 3 days": (
            "sales_asst",
            {"customer": "慈溪升级测试{unique}电器有限公司", "contract_no": "HT-{unique}", "amount": 800, "due_date": _in(3)},
        ),
    },
}


# --- the orchestrator: runs in the current tree --------------------------------------------------


@dataclass
class Revision:
    revision: str
    file: str
    commit: str | None = None
    skipped: str | None = None


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def revisions() -> list[Revision]:
    """Every migration before the newest, with the last commit that has it as its newest."""
    files = sorted(p.name for p in (REPO / VERSIONS).glob("[0-9]*.py"))
    found: list[Revision] = []
    for name, following in itertools.pairwise(files):
        source = (REPO / VERSIONS / name).read_text()
        match = re.search(r"^revision = ['\"]([^'\"]+)['\"]", source, re.M)
        assert match, name
        rev = Revision(match.group(1), name)
        added = git("log", "--diff-filter=A", "--format=%H", "--", str(VERSIONS / following)).splitlines()[-1]
        parent = git("rev-parse", f"{added}^")
        newest = sorted(n for n in git("ls-tree", "--name-only", parent, f"{VERSIONS}/").splitlines() if n.endswith(".py"))[-1]
        if Path(newest).name == name:
            rev.commit = parent
        else:
            rev.skipped = f"no commit has it as its newest migration: {following} arrived with it in {added[:7]}"
        found.append(rev)
    return found


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _url(dbname: str) -> str:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    return f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', '5432')}/{dbname}"


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_in_tree(tree: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "SCHEDULER_ENABLED": "0"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=tree, env=env, check=True)


def dump(url: str, target: Path) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    sql = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", dsn], check=True, capture_output=True).stdout
    # pg_dump 15.14+ brackets the dump in \restrict <random key> ... \unrestrict: the dump differs
    # on every run and older psql refuses it. Ours hold only what this script wrote.
    sql = re.sub(rb"^\\(un)?restrict [A-Za-z0-9]+\n", b"", sql, flags=re.M)
    with target.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(sql)


def make(rev: Revision, work: Path) -> None:
    assert rev.commit
    tree = work / rev.revision
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev.commit], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    plan = work / f"{rev.revision}.plan.json"
    manifest = FIXTURES / f"{rev.revision}.json"
    started = time.monotonic()
    with scratch_database(f"crmflow_explore_{rev.revision[:4]}") as url:
        run_in_tree(tree, "explore", url, str(plan))
    with scratch_database(f"crmflow_fixture_{rev.revision[:4]}") as url:
        run_in_tree(tree, "replay", url, str(plan), str(manifest))
        dump(url, FIXTURES / f"{rev.revision}.sql.gz")
    data = json.loads(manifest.read_text())
    data["commit"] = rev.commit
    manifest.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    size = (FIXTURES / f"{rev.revision}.sql.gz").stat().st_size
    print(f"{rev.revision}: {len(data['instances'])} instances, {size:,} bytes, {time.monotonic() - started:.0f} s", flush=True)


def write_readme(revs: list[Revision]) -> None:
    lines = [
        "# Upgrade fixtures",
        "",
        "Databases written by earlier versions of CRMFlow itself, for tests/store/test_upgrades.py:",
        "`<revision>.sql.gz` is `pg_dump --no-owner --no-privileges` of a database created at that",
        "Alembic revision by the last commit whose newest migration it is, holding only the demo seed",
        "and instances of every shipped process of that version waiting at each of its user tasks and",
        "timers; `<revision>.json` names each instance's waits as that version saw them. Made by",
        "`.venv/bin/python tests/store/upgrades/make_fixtures.py` (see its docstring); do not edit.",
        "",
        "| revision | commit | processes | instances | waiting at | gz bytes |",
        "|---|---|---|---|---|---|",
    ]
    skipped = []
    for rev in revs:
        manifest = FIXTURES / f"{rev.revision}.json"
        if rev.skipped or not manifest.exists():
            skipped.append(rev)
            continue
        data = json.loads(manifest.read_text())
        instances = data["instances"].values()
        waits = sorted({w for i in instances for w in i["waits"]})
        processes = sorted({i["process"] for i in instances})
        size = (FIXTURES / f"{rev.revision}.sql.gz").stat().st_size
        lines.append(
            f"| {rev.revision} | {data['commit'][:7]} | {', '.join(processes)} | {len(data['instances'])} | {', '.join(waits)} | {size:,} |"
        )
    total = sum(p.stat().st_size for p in FIXTURES.glob("*.sql.gz"))
    lines += ["", f"Total: {total:,} bytes.", ""]
    if skipped:
        lines += ["## Skipped", ""]
        lines += [f"- {rev.revision}: {rev.skipped or 'not made yet'}" for rev in skipped]
        lines.append("")
    (FIXTURES / "README.md").write_text("\n".join(lines))


def main(wanted: list[str]) -> None:
    FIXTURES.mkdir(exist_ok=True)
    revs = revisions()
    with tempfile.TemporaryDirectory(prefix="crmflow-upgrades-") as tmp:
        for rev in revs:
            if rev.skipped or (wanted and rev.revision not in wanted):
                continue
            try:
                make(rev, Path(tmp))
            except subprocess.CalledProcessError as exc:
                rev.skipped = f"the version could not make its fixture with the current virtualenv (exit {exc.returncode})"
                for stale in (FIXTURES / f"{rev.revision}.sql.gz", FIXTURES / f"{rev.revision}.json"):
                    stale.unlink(missing_ok=True)
    write_readme(revs)


# --- the driver: runs inside an old version's tree ---------------------------------------------------


def _steps_module() -> ModuleType:
    """tests/store/upgrades/steps.py by its path: the old tree has a `tests` package of its own."""
    spec = importlib.util.spec_from_file_location("crmflow_upgrade_steps", HERE / "steps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OldVersion:
    """The version whose tree is the working directory, through the API every version has."""

    def __init__(self, url: str) -> None:
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
        try:
            from store.schema import upgrade
        except ImportError:  # before 0006
            from store.migrate import upgrade
        from sqlalchemy import text

        from engine.process_engine import ProcessEngine
        from processes.demo import seed_demo
        from store.db import Database
        from store.models import ProcessInstance

        try:
            from engine.bpmn.forms import form_model
        except ImportError:  # before 0006
            from engine.forms import form_model

        self.steps = _steps_module()
        self.text = text
        self.ProcessInstance = ProcessInstance
        self.form_model = form_model
        upgrade(url)
        self.engine = ProcessEngine(Database(url))
        seed_demo(self.engine)
        with self.engine.db.sessions() as session:
            self.processes = set(session.scalars(text("SELECT DISTINCT key FROM process_definitions")))
        self.gateway_names = self._gateway_names()

    @staticmethod
    def _gateway_names() -> set[str]:
        names: set[str] = set()
        for path in Path("processes").glob("**/*.bpmn"):
            for condition in re.findall(r"<bpmn:conditionExpression[^>]*>(.*?)</bpmn:conditionExpression>", path.read_text(), re.S):
                names.update(re.findall(r"[A-Za-z_]\w*", condition))
        return names

    def actor(self, username: str) -> Any:
        with self.engine.db.sessions() as session:
            return self.engine.identity.actor(session, username)

    def start(self, process: str, variant: str) -> int:
        username, chosen = STARTS[process][variant]
        token = secrets.token_hex(3)
        chosen = {k: v.replace("{unique}", token) if isinstance(v, str) else v for k, v in chosen.items()}
        with self.engine.db.engine.connect() as conn:
            meta = conn.execute(
                self.text("SELECT start_meta FROM process_definitions WHERE key = :k ORDER BY version DESC LIMIT 1"), {"k": process}
            ).scalar_one()
        meta = json.loads(meta) if isinstance(meta, str) else meta
        form = self.form_model((meta or {}).get("form") or [], {})
        instance = self.engine.runtime.start(self.actor(username), process, self.steps.form_values(form, chosen))
        return int(instance.id)

    def task_rows(self, instance_id: int) -> list[dict[str, Any]]:
        with self.engine.db.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    self.text(
                        "SELECT id, task_key, assignee, candidate_roles, candidate_users FROM tasks"
                        " WHERE instance_id = :i AND status = 'open' ORDER BY created_at, id"
                    ),
                    {"i": instance_id},
                )
            ]

    def candidates(self, row: dict[str, Any]) -> list[str]:
        with self.engine.db.engine.connect() as conn:
            return list(self.steps.candidates(conn, row["assignee"], row["candidate_roles"], row["candidate_users"]))

    def form(self, username: str, task_id: str) -> list[dict[str, Any]]:
        with self.engine.db.sessions() as session:
            _task, model, _data = self.engine.tasks.details(session, self.actor(username), task_id)
        return list(model)

    def ways(self, instance_id: int, task_key: str) -> list[dict[str, Any]]:
        """What is entered for each way through the first open task_key a gateway can tell apart."""
        row = next(r for r in self.task_rows(instance_id) if r["task_key"] == task_key)
        viewer = self.candidates(row)[0]
        form = self.form(viewer, row["id"])
        return [self.steps.form_values(form, way) for way in self.steps.choices(form, self.gateway_names)]

    def do(self, instance_id: int, step: dict[str, Any]) -> dict[str, Any]:
        """Take one step; returns it resolved (the user who could take it)."""
        if step.get("advance"):
            self.advance(instance_id)
            return step
        row = next(r for r in self.task_rows(instance_id) if r["task_key"] == step["task"])
        users = [step["user"]] if step.get("user") else self.candidates(row)
        failures = []
        for username in users:
            try:
                self.engine.tasks.complete(self.actor(username), row["id"], step["data"])  # an unclaimed task: claimed so
            except Exception as exc:  # not this user (four eyes, not a candidate): the next one
                failures.append(f"{username}: {type(exc).__name__}: {exc} {getattr(exc, 'errors', '')}")
                continue
            return {**step, "user": username}
        raise RuntimeError(f"no one could complete {step['task']} with {step['data']}: {failures}")

    def next_timer(self, instance_id: int) -> datetime | None:
        with self.engine.db.engine.connect() as conn:
            due = conn.execute(
                self.text("SELECT min(due_at) FROM jobs WHERE instance_id = :i AND status = 'pending' AND kind = 'timer'"),
                {"i": instance_id},
            ).scalar()
        return due.astimezone(UTC) if due is not None else None

    def advance(self, instance_id: int) -> None:
        """Time moves on to the instance's next timer, for this instance only: every other pending
        job is held meanwhile (the old job runners fire every instance's due jobs)."""
        due = self.next_timer(instance_id)
        assert due is not None, f"instance {instance_id} has no timer"
        with self.engine.db.engine.begin() as conn:
            conn.execute(
                self.text("UPDATE jobs SET status = 'held' WHERE status = 'pending' AND (instance_id IS NULL OR instance_id <> :i)"),
                {"i": instance_id},
            )
        try:
            jobs = getattr(self.engine, "jobs", None)
            if jobs is not None and hasattr(jobs, "run_due"):
                jobs.run_due(due + timedelta(seconds=1))
            else:  # before 0003
                from engine.jobs import run_due_jobs

                run_due_jobs(self.engine, due + timedelta(seconds=1))
        finally:
            with self.engine.db.engine.begin() as conn:
                conn.execute(self.text("UPDATE jobs SET status = 'pending' WHERE status = 'held'"))

    def waits(self, instance_id: int) -> tuple[str, list[str]]:
        """The instance's status and, while it runs, the user tasks and events it waits at."""
        with self.engine.db.sessions() as session:
            instance = session.get(self.ProcessInstance, instance_id)
            assert instance is not None
            if instance.status != "running":
                return instance.status, []
            workflow = self.engine.runtime.load(session, instance)
        return "running", list(self.steps.waits_at(workflow))

    def replay(self, path: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        instance_id = self.start(path["process"], path["start"])
        done = [self.do(instance_id, step) for step in path["steps"]]
        return instance_id, done


def explore(url: str, plan_file: str) -> None:
    old = OldVersion(url)
    seed_lead(old)
    found: list[dict[str, Any]] = []  # every running state reached: path, waits
    for process in sorted(STARTS):
        if process not in old.processes:
            continue
        seen: set[tuple[str, ...]] = set()
        queue: deque[tuple[dict[str, Any], dict[str, Any] | None]] = deque(
            ({"process": process, "start": variant, "steps": []}, None) for variant in STARTS[process]
        )
        copies = 0
        while queue and copies < MAX_COPIES:
            path, step = queue.popleft()
            copies += 1
            try:
                instance_id, done = old.replay(path)
                if step is not None:
                    done.append(old.do(instance_id, step))
            except Exception as exc:
                print(f"  {process} {path['start']} {path['steps'][-1:]} {step}: {type(exc).__name__}: {exc}", flush=True)
                continue
            path = {**path, "steps": done}
            status, waits = old.waits(instance_id)
            if status != "running":
                continue
            found.append({"path": path, "waits": waits})
            if tuple(waits) in seen or len(done) >= MAX_STEPS:
                continue
            seen.add(tuple(waits))
            for key in dict.fromkeys(row["task_key"] for row in old.task_rows(instance_id)):
                for data in old.ways(instance_id, key):
                    queue.append((path, {"task": key, "data": data}))
            if old.next_timer(instance_id) is not None:
                queue.append((path, {"advance": True}))
        print(f"  {process}: {copies} copies, {len(seen)} distinct waits", flush=True)
    Path(plan_file).write_text(json.dumps(cover(found), ensure_ascii=False, indent=1))


def seed_lead(old: OldVersion) -> int | None:
    """The earlier lead that makes 'duplicate lead' starts duplicates."""
    if "lead_qualification" not in old.processes:
        return None
    username, chosen = STARTS["lead_qualification"]["new lead"]
    STARTS["lead_qualification"]["first of its name"] = (username, {**chosen, "company": SEED_COMPANY})
    try:
        return old.start("lead_qualification", "first of its name")
    finally:
        del STARTS["lead_qualification"]["first of its name"]


def cover(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fewest paths (greedily) leaving instances waiting at every element reached, and one of
    every start variant; shorter paths first among equals."""

    def keys(state: dict[str, Any]) -> set[tuple[str, str]]:
        process = state["path"]["process"]
        return {(process, w) for w in state["waits"]} | {(process, "start: " + state["path"]["start"])}

    wanted = set().union(*(keys(s) for s in found)) if found else set()
    chosen: list[dict[str, Any]] = []
    while wanted:
        best = max(found, key=lambda s: (len(keys(s) & wanted), -len(s["path"]["steps"])))
        chosen.append(best)
        wanted -= keys(best)
    return sorted(chosen, key=lambda s: (s["path"]["process"], len(s["path"]["steps"])))


def replay(url: str, plan_file: str, manifest_file: str) -> None:
    old = OldVersion(url)
    instances: dict[str, dict[str, Any]] = {}
    seeded = seed_lead(old)
    if seeded is not None:
        instances[str(seeded)] = {"process": "lead_qualification", "start": "first of its name", "steps": 0, "waits": old.waits(seeded)[1]}
    for state in json.loads(Path(plan_file).read_text()):
        path = state["path"]
        instance_id, _done = old.replay(path)
        status, waits = old.waits(instance_id)
        assert (status, waits) == ("running", state["waits"]), f"{path} replayed waits at {status} {waits}, not {state['waits']}"
        instances[str(instance_id)] = {"process": path["process"], "start": path["start"], "steps": len(path["steps"]), "waits": waits}
    Path(manifest_file).write_text(json.dumps({"revision": _own_revision(), "instances": instances}, ensure_ascii=False))


def _own_revision() -> str:
    newest = sorted(p.name for p in VERSIONS.glob("[0-9]*.py"))[-1]
    match = re.search(r"^revision = ['\"]([^'\"]+)['\"]", (VERSIONS / newest).read_text(), re.M)
    assert match
    return match.group(1)


COMMANDS: dict[str, Callable[..., None]] = {"explore": explore, "replay": replay}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    else:
        if shutil.which("pg_dump") is None:
            sys.exit("pg_dump is not on PATH")
        main(sys.argv[1:])

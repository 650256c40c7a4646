"""Repository service: validate, parse and deploy BPMN/DMN as versions; cache parsed specs."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from engine import operations
from engine.bpmn import serializer, spec_diff, validation
from engine.bpmn.parser import CAMUNDA_NS, CrmBpmnParser, camunda_extensions, history_ttl_days
from engine.errors import Conflict, InvalidDefinition, NotFound
from store.models import DecisionDefinition, ProcessDefinition, ProcessInstance, Role

if TYPE_CHECKING:
    from datetime import datetime

    from engine.services.history import HistoryService
    from engine.services.management import JobService
    from store.db import Database


@dataclass
class Deployed:
    id: int
    key: str
    name: str
    version: int
    kind: str = "process"
    new: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "name": self.name, "version": self.version, "kind": self.kind, "new": self.new}


T = TypeVar("T")


class VersionCache(Generic[T]):
    """What is derived from one deployed version, by definition id, least recently used dropped
    past `size`: a version never changes once deployed, so entries never go stale."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[int, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition_id: int, load: Callable[[], T]) -> T:
        with self._lock:
            if definition_id in self._items:
                self._items.move_to_end(definition_id)
                return self._items[definition_id]
        loaded = load()
        with self._lock:
            self._items[definition_id] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return loaded


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _start_meta(process: etree._Element) -> dict[str, Any]:
    starts = process.findall(f"{{{validation.BPMN_NS}}}startEvent")
    start = next(
        (s for s in starts if not len(s.findall(f".//{{{validation.BPMN_NS}}}messageEventDefinition"))), starts[0] if starts else None
    )
    ext = camunda_extensions(start) if start is not None else {}
    groups = process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups") or ""
    users = process.get(f"{{{CAMUNDA_NS}}}candidateStarterUsers") or ""
    doc = process.find(f"{{{validation.BPMN_NS}}}documentation")
    event_definitions = ("timerEventDefinition", "messageEventDefinition", "signalEventDefinition", "conditionalEventDefinition")
    none_starts = [s for s in starts if not any(isinstance(c.tag, str) and etree.QName(c).localname in event_definitions for c in s)]
    return {
        "manual": bool(none_starts),
        "start_event": start.get("id") if start is not None else None,
        "form": ext.get("form", []),
        "initiator": ext.get("initiator"),
        "starter_groups": [g.strip() for g in groups.split(",") if g.strip()],
        "starter_users": [u.strip() for u in users.split(",") if u.strip()],
        "documentation": (doc.text or "").strip() if doc is not None else "",
    }


class RepositoryService:
    def __init__(self, *, clock: Callable[[], datetime], db: Database, history: HistoryService) -> None:
        self._clock = clock
        self._db = db
        self._history = history
        # Parsed specs (a few hundred KB each at most) and start forms of the versions in use: 256
        # of each per process (README "Running in production": memory).
        self.specs: VersionCache[tuple[Any, dict[str, Any]]] = VersionCache()
        self.start_metas: VersionCache[dict[str, Any]] = VersionCache()
        self._versions: dict[int, int] = {}

    def use_jobs(self, jobs: JobService) -> None:
        """Given by ProcessEngine once the job service exists: the two need each other (a deploy
        schedules its timer starts; a timer start reads the spec)."""
        self._jobs = jobs

    # --- queries ---------------------------------------------------------------------------

    def latest(self, session: Session, key: str) -> ProcessDefinition:
        definition = session.scalar(_newest_version(ProcessDefinition, key))
        if definition is None:
            raise NotFound(f"no process definition with key '{key}'")
        return definition

    def latest_id(self, session: Session, key: str) -> int:
        """The latest version's id, without reading its documents."""
        found = session.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc()).limit(1)
        )
        if found is None:
            raise NotFound(f"no process definition with key '{key}'")
        return found

    def exists(self, session: Session, key: str) -> bool:
        """Whether any version of `key` was ever deployed."""
        return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key).limit(1)) is not None

    def summary(self, session: Session, definition_id: int) -> ProcessDefinition:
        """One version without its documents (XML, decisions, spec): what the pages name."""
        definition = session.get(ProcessDefinition, definition_id, options=_WITHOUT_DOCUMENTS)
        if definition is None:
            raise NotFound(f"no process definition {definition_id}")
        return definition

    def bpmn_xml(self, session: Session, *, key: str | None = None, version: int | None = None, definition_id: int | None = None) -> str:
        """The BPMN of one version (by id, or key and number; the latest without a number), the one
        way every page and the API read a diagram's XML; the caller has checked who may read it."""
        query = select(ProcessDefinition.bpmn_xml)
        if definition_id is not None:
            query = query.where(ProcessDefinition.id == definition_id)
        else:
            query = query.where(ProcessDefinition.key == key)
            if version is not None:
                query = query.where(ProcessDefinition.version == version)
        xml = session.scalar(query.order_by(ProcessDefinition.version.desc()).limit(1))
        if xml is None:
            raise NotFound(f"no process definition {definition_id or key} {version or ''}".strip())
        return xml

    def list_latest(self, session: Session, documents: bool = False) -> list[ProcessDefinition]:
        """The latest version of every process, without its serialized spec (`spec` reads that)
        and, unless `documents`, without its BPMN and DMN (tens of KB each: the start page lists
        the processes by name and start form)."""
        deferred = [ProcessDefinition.spec_json] + ([] if documents else [ProcessDefinition.bpmn_xml, ProcessDefinition.dmn_xml])
        return list(session.scalars(_newest_versions(ProcessDefinition).options(*(defer(c) for c in deferred))))

    def latest_names(self, session: Session) -> dict[str, str]:
        """Process key -> the latest version's name, ordered by key: for pages that only name the
        processes (list_latest also reads each version's XML)."""
        return {key: name for key, (_id, name) in self._latest_versions(session).items()}

    def latest_ids(self, session: Session) -> dict[str, int]:
        """Process key -> the latest version's id, ordered by key (one statement for every process)."""
        return {key: definition_id for key, (definition_id, _name) in self._latest_versions(session).items()}

    def _latest_versions(self, session: Session) -> dict[str, tuple[int, str]]:
        """key -> (id, name) of every latest version; read once per session (a page names its
        processes in its content and its header)."""
        memo = session.info.get("crmflow_latest_versions")
        if memo is None:
            newest = _newest_versions(ProcessDefinition).subquery()
            rows = session.execute(select(newest.c.key, newest.c.id, newest.c.name).order_by(newest.c.key))
            memo = session.info["crmflow_latest_versions"] = {key: (definition_id, name) for key, definition_id, name in rows}
        return dict(memo)

    def start_meta(self, session: Session, definition_id: int) -> dict[str, Any]:
        """A version's start form and starters (`start_meta`): fixed at deployment like its spec,
        so kept beside the spec cache."""

        def load() -> dict[str, Any]:
            found = session.execute(select(ProcessDefinition.start_meta).where(ProcessDefinition.id == definition_id)).one_or_none()
            if found is None:
                raise NotFound(f"no process definition {definition_id}")
            return dict(found.start_meta or {})

        return self.start_metas.get(definition_id, load)

    def versions(self, session: Session, key: str) -> list[dict[str, Any]]:
        return self.catalogue(session, key).get(key, {"versions": []})["versions"]  # type: ignore[no-any-return]

    def catalogue(self, session: Session, key: str | None = None) -> dict[str, dict[str, Any]]:
        """Every process key (or one) -> the latest version's name and all versions, oldest first,
        with their running instances; two queries, none of the large columns."""
        counts_query = select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.status == "running")
        rows_query = select(
            ProcessDefinition.id,
            ProcessDefinition.key,
            ProcessDefinition.name,
            ProcessDefinition.version,
            ProcessDefinition.deployed_at,
            ProcessDefinition.deployed_by,
        )
        if key is not None:
            counts_query = counts_query.where(ProcessInstance.process_key == key)
            rows_query = rows_query.where(ProcessDefinition.key == key)
        counts = dict(session.execute(counts_query.group_by(ProcessInstance.definition_id)).all())
        found: dict[str, dict[str, Any]] = {}
        for r in session.execute(rows_query.order_by(ProcessDefinition.key, ProcessDefinition.version)):
            entry = found.setdefault(r.key, {"versions": []})
            entry["name"] = r.name
            entry["versions"].append(
                {
                    "id": r.id,
                    "version": r.version,
                    "deployed_at": r.deployed_at,
                    "deployed_by": r.deployed_by,
                    "running_instances": counts.get(r.id, 0),
                }
            )
        return found

    def version_of(self, session: Session, definition_id: int) -> int | None:
        """A version's number (it never changes), read once per process."""
        version = self._versions.get(definition_id)
        if version is None:
            version = session.scalar(select(ProcessDefinition.version).where(ProcessDefinition.id == definition_id))
            if version is not None:
                self._versions[definition_id] = version
        return version

    def spec(self, session: Session, definition_id: int) -> tuple[Any, dict[str, Any]]:
        """The parsed spec of a version; the row's large columns are read only on a cache miss."""

        def load_json() -> str:
            text = session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))
            if text is None:
                raise NotFound(f"no process definition {definition_id}")
            return text

        return self.specs.get(definition_id, lambda: serializer.load_spec(load_json()))

    # --- decision tables (for the designer) -----------------------------------------------

    def latest_decisions(self, session: Session) -> list[DecisionDefinition]:
        """The latest version of every deployed decision, by key."""
        return list(session.scalars(_newest_versions(DecisionDefinition)))

    def latest_decision(self, session: Session, key: str) -> DecisionDefinition:
        decision = session.scalar(_newest_version(DecisionDefinition, key))
        if decision is None:
            raise NotFound(f"no decision with key '{key}'")
        return decision

    # --- validation and deployment ---------------------------------------------------------

    def _parse_all(self, files: list[tuple[str, bytes]]) -> list[validation.Document]:
        if not files:
            raise InvalidDefinition([{"element_id": "", "message": "no file to deploy", "severity": "error"}])
        return [validation.parse_document(name, content) for name, content in files]

    def _known_decisions(self, session: Session, docs: list[validation.Document]) -> dict[str, bytes]:
        """Decision id -> DMN document bytes: this deployment's first, then the latest deployed."""
        found: dict[str, bytes] = {}
        for row in self.latest_decisions(session):
            found[row.key] = row.dmn_xml.encode()
        for doc in docs:
            if doc.kind == "dmn":
                for decision in validation.decision_ids(doc):
                    found[decision] = _text(doc).encode()
        return found

    def validate(self, session: Session, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """All problems (errors and warnings) of a would-be deployment; deploys nothing."""
        try:
            docs = self._parse_all(files)
            self._check(session, docs)
        except InvalidDefinition as exc:
            return exc.problems
        return self._check(session, docs)[2]

    def _check(self, session: Session, docs: list[validation.Document]) -> tuple[CrmBpmnParser, dict[str, bytes], list[dict[str, Any]]]:
        roles = set(session.scalars(select(Role.name)))
        decisions = self._known_decisions(session, docs)
        report = validation.Report()
        for doc in docs:
            if doc.kind == "bpmn":
                report.problems.extend(validation.validate_bpmn(doc, roles, set(operations.OPERATIONS), set(decisions)).problems)
            else:
                report.problems.extend(validation.validate_dmn(doc).problems)
        report.raise_if_errors()
        parser = CrmBpmnParser()
        try:
            for dmn in dict.fromkeys(decisions.values()):
                parser.add_dmn_xml(etree.fromstring(dmn, etree.XMLParser(resolve_entities=False, no_network=True)))
            for doc in docs:
                if doc.kind == "bpmn":
                    parser.add_bpmn_xml(doc.root, doc.filename)
            for doc in docs:
                if doc.kind == "bpmn":
                    for process in validation.executable_processes(doc.root):
                        parser.get_subprocess_specs(process.get("id"))
        except ValidationException as exc:
            report.error(exc.id or "", str(exc).split("\n")[0] or "invalid element")
        except (SpiffWorkflowException, ValueError, KeyError, AttributeError, TypeError, SyntaxError) as exc:
            report.error("", f"the engine cannot parse this definition: {exc}")
        report.raise_if_errors()
        return parser, decisions, [p.as_dict() for p in report.problems]

    def deploy(self, files: list[tuple[str, bytes]], deployed_by: str | None, *, once: bool = False) -> list[Deployed]:
        """Deploy BPMN and DMN files as new versions in one transaction; content identical to the
        latest version is not deployed again (that version is returned).

        `once` (seeding shipped files): content deployed in any earlier version is not deployed
        again either, so a restart never puts a shipped file over a version an admin deployed
        later; a shipped file that changed since it was last seeded is deployed.
        """
        docs = self._parse_all(files)
        try:
            with self._db.transaction() as session:
                return self._deploy(session, docs, deployed_by, once)
        except IntegrityError as exc:
            raise Conflict("another deployment of the same key happened at the same time; try again") from exc

    def _dependents(self, session: Session, docs: list[validation.Document]) -> list[validation.Document]:
        """Processes (latest versions, not in this deployment) that use a decision deployed now.

        They are deployed again with it, so new instances decide by the new table while running
        instances keep the version they started with.
        """
        changed = {d for doc in docs if doc.kind == "dmn" for d in validation.decision_ids(doc)}
        in_batch = {p.get("id") for doc in docs if doc.kind == "bpmn" for p in validation.executable_processes(doc.root)}
        if not changed:
            return []
        extra = []
        for definition in self.list_latest(session, documents=True):
            if definition.key in in_batch or not any(f'decisionRef="{d}"' in definition.bpmn_xml for d in changed):
                continue
            content = definition.bpmn_xml.encode()
            doc = validation.parse_document(f"{definition.key}.bpmn", content)
            if changed & {ref for p in validation.executable_processes(doc.root) for ref in _decision_refs(p)}:
                extra.append(doc)
        return extra

    def _plan(self, session: Session, docs: list[validation.Document], once: bool) -> tuple[CrmBpmnParser, list[_Planned]]:
        """What a deployment of `docs` would do, writing nothing: each decision and process with its
        latest version and whether it would become a new one (deploy and preview share this)."""
        docs = docs + self._dependents(session, docs)
        parser, decisions, _warnings = self._check(session, docs)
        plans: list[_Planned] = []
        for doc in docs:
            if doc.kind != "dmn":
                continue
            digest = _sha(doc.content)
            for key, node in validation.decisions(doc).items():
                latest = session.scalar(_newest_version(DecisionDefinition, key))
                same = latest is not None and (
                    latest.content_hash == digest or (once and _deployed_before(session, DecisionDefinition, key, digest))
                )
                plans.append(_Planned("decision", key, node.get("name") or key, doc, digest, latest, not same))
        for doc in docs:
            if doc.kind != "bpmn":
                continue
            for process in validation.executable_processes(doc.root):
                key = process.get("id")
                used = sorted({decisions[d] for d in _decision_refs(process) if d in decisions})
                digest = _sha(doc.content, *used)
                latest = session.scalar(_newest_version(ProcessDefinition, key))
                same = latest is not None and (
                    latest.content_hash == digest or (once and _deployed_before(session, ProcessDefinition, key, digest))
                )
                plans.append(_Planned("process", key, process.get("name") or key, doc, digest, latest, not same, process, used))
        return parser, plans

    def preview(self, session: Session, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """What deploying these files would change, for the designer's confirmation: per decision
        and process, the version it would become (or that nothing changed), the running instances
        that stay on their version, and for a process the elements added, removed and changed
        against its latest version. Invalid files raise InvalidDefinition, as deploy would."""
        parser, plans = self._plan(session, self._parse_all(files), once=False)
        running = dict(
            session.execute(
                select(ProcessDefinition.key, func.count(ProcessInstance.id))
                .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
                .where(ProcessInstance.status == "running", ProcessDefinition.key.in_([p.key for p in plans if p.kind == "process"]))
                .group_by(ProcessDefinition.key)
            ).all()
        )
        items = []
        for plan in plans:
            item: dict[str, Any] = {
                "kind": plan.kind,
                "key": plan.key,
                "name": plan.name,
                "current_version": plan.latest.version if plan.latest else None,
                "version": plan.version,
                "new": plan.new,
            }
            if plan.kind == "process":
                item["running"] = int(running.get(plan.key, 0))
                if plan.new and plan.latest is not None:
                    old_spec, _ = self.spec(session, plan.latest.id)
                    item.update(spec_diff.changes(old_spec, parser.get_spec(plan.key)))
            items.append(item)
        return items

    def _deploy(self, session: Session, docs: list[validation.Document], deployed_by: str | None, once: bool) -> list[Deployed]:
        parser, plans = self._plan(session, docs, once)
        now = self._clock()
        result: list[Deployed] = []
        for plan in plans:
            latest = plan.latest
            if not plan.new:
                assert latest is not None
                result.append(Deployed(latest.id, plan.key, latest.name, latest.version, plan.kind, False))
                continue
            if plan.kind == "decision":
                row: ProcessDefinition | DecisionDefinition = DecisionDefinition(
                    key=plan.key,
                    version=plan.version,
                    name=plan.name,
                    dmn_xml=_text(plan.doc),
                    content_hash=plan.digest,
                    deployed_by=deployed_by,
                    deployed_at=now,
                )
                session.add(row)
                session.flush()
                result.append(Deployed(row.id, plan.key, row.name, row.version, "decision"))
                continue
            assert plan.process is not None
            spec, subs = parser.get_spec(plan.key), parser.get_subprocess_specs(plan.key)
            row = ProcessDefinition(
                key=plan.key,
                version=plan.version,
                name=plan.name,
                bpmn_xml=_text(plan.doc),
                dmn_xml=[d.decode() for d in plan.used],
                content_hash=plan.digest,
                spec_json=serializer.dump_spec(spec, subs),
                serializer_version=serializer.SERIALIZER_VERSION,
                start_meta=_start_meta(plan.process),
                history_ttl_days=history_ttl_days(plan.process),
                deployed_by=deployed_by,
                deployed_at=now,
            )
            session.add(row)
            session.flush()
            session.info.pop("crmflow_latest_versions", None)  # this session's latest versions changed
            self._jobs.schedule_timer_starts(session, row, _start_timers(plan.process), now)
            self._history.record(session, deployed_by, "deploy", data={"key": plan.key, "version": row.version, "definition_id": row.id})
            result.append(Deployed(row.id, plan.key, row.name, row.version))
        return result


@dataclass
class _Planned:
    """One decision or process of a deployment, before anything is written."""

    kind: str  # decision | process
    key: str
    name: str
    doc: validation.Document
    digest: str
    latest: Any  # the latest ProcessDefinition / DecisionDefinition of the key, or None
    new: bool  # whether it becomes a new version
    process: etree._Element | None = None
    used: list[bytes] = field(default_factory=list)  # the DMN documents a process uses

    @property
    def version(self) -> int:
        if not self.new:
            return int(self.latest.version)
        return int(self.latest.version) + 1 if self.latest is not None else 1


Versioned = TypeVar("Versioned", ProcessDefinition, DecisionDefinition)


_WITHOUT_DOCUMENTS = [defer(ProcessDefinition.bpmn_xml), defer(ProcessDefinition.dmn_xml), defer(ProcessDefinition.spec_json)]


def _deployed_before(session: Session, model: type[Versioned], key: str, digest: str) -> bool:
    return session.scalar(select(model.id).where(model.key == key, model.content_hash == digest).limit(1)) is not None


def _newest_version(model: type[Versioned], key: str) -> Select[tuple[Versioned]]:
    return select(model).where(model.key == key).order_by(model.version.desc()).limit(1)


def _newest_versions(model: type[Versioned]) -> Select[tuple[Versioned]]:
    """The latest version of every key, ordered by key."""
    newest = select(model.key, func.max(model.version).label("v")).group_by(model.key).subquery()
    return select(model).join(newest, (model.key == newest.c.key) & (model.version == newest.c.v)).order_by(model.key)


def _start_timers(process: etree._Element) -> list[dict[str, str]]:
    """The timer start events at the top of a process: element id, timer kind and text."""
    timers = []
    for start in process.findall(f"{{{validation.BPMN_NS}}}startEvent"):
        for definition in start.findall(f"{{{validation.BPMN_NS}}}timerEventDefinition"):
            for child in definition:
                if isinstance(child.tag, str) and etree.QName(child).localname in ("timeDate", "timeDuration", "timeCycle"):
                    timers.append(
                        {"element_id": start.get("id") or "", "kind": etree.QName(child).localname, "text": (child.text or "").strip()}
                    )
    return timers


def _decision_refs(process: etree._Element) -> list[str]:
    return [ref for node in process.iter() if isinstance(node.tag, str) and (ref := node.get(f"{{{CAMUNDA_NS}}}decisionRef"))]


def _text(doc: validation.Document) -> str:
    """The document as text without its encoding declaration, whatever encoding it came in."""
    return etree.tostring(doc.root, encoding="unicode")

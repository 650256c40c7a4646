"""Importing leads and customers from Excel or CSV (seed 000: staff keep them in spreadsheets): the
header row is mapped to the fields (leads: the lead form's, by id, Chinese or English label;
customers: the customer file's, by id or the usual Chinese headers), or as the person mapped the
columns on the preview; each row is checked as the start form or the customer form would check
it; duplicates (the normalised company, phone or email of engine.matching, within the file and
against the leads and customers on file) are reported, not imported. A preview changes nothing;
the import writes every good row in one transaction, so a failure imports nothing."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from engine import matching
from engine.bpmn import forms
from engine.errors import EngineError, Forbidden, TooLarge, ValidationFailed
from engine.services.customers import Duplicate
from engine.services.identity import Actor
from store.models import Customer, Lead, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.authorization import Authorization
    from engine.services.customers import CustomerService
    from engine.services.identity import IdentityService
    from engine.services.repository import RepositoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

PROCESS = "lead_qualification"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_CELL = 2000
OWNER_HEADERS = {"owner", "负责人", "业务员"}
# The customer file's columns and the headers staff use for them (the rest of CUSTOMER_FIELDS by id).
CUSTOMER_HEADERS = {
    "name": ("客户名称", "公司名称", "名称", "公司", "customer", "company"),
    "short_name": ("简称",),
    "address": ("地址", "公司地址"),
    "phone": ("电话", "联系电话", "公司电话"),
    "email": ("邮箱", "电子邮件", "e-mail"),
    "website": ("网址", "网站"),
    "industry": ("行业", "所属行业"),
    "nature": ("企业性质", "性质"),
    "market": ("市场", "国家", "国家/市场"),
    "trade_terms": ("进出口权", "贸易条款"),
    "size": ("规模", "企业规模"),
    "credit": ("信用", "信用状况"),
    "grade": ("价值等级", "等级"),
    "status": ("状态", "客户状态"),
    "notes": ("备注",),
}
CUSTOMER_VALUES = {
    "status": {"潜在客户": "potential", "潜在": "potential", "交易客户": "trading", "交易": "trading", "休眠": "dormant", "流失": "lost"}
}


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    headers: list[str] = field(default_factory=list)  # the file's header row, in its order
    mapping: dict[str, str] = field(default_factory=dict)  # header -> field id ("owner" for the owner column)
    unmapped: list[str] = field(default_factory=list)
    created: list[int] = field(default_factory=list)  # instance ids (a preview: the rows that would be)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "mapping": self.mapping,
            "unmapped": self.unmapped,
            "created": len(self.created),
            "instance_ids": [] if self.dry_run else self.created,
            "duplicates": self.duplicates,
            "errors": self.errors,
        }


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """The rows of an XLSX or CSV file as text, the header first; a clear error for anything else."""
    if len(content) > MAX_BYTES:
        raise TooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    name = filename.lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        return _xlsx_rows(content)
    if name.endswith((".csv", ".txt")):
        return _csv_rows(content)
    raise ValidationFailed({"file": "must be an Excel file (.xlsx) or CSV"})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "date") and hasattr(value, "isoformat"):  # a date cell
        value = value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
    return str(value).strip()


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:  # refuse a zip bomb before opening it
            if sum(i.file_size for i in archive.infolist()) > 20 * MAX_BYTES:
                raise TooLarge("the spreadsheet unpacks to more than 100 MB")
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            rows: list[list[str]] = []
            for row in book.worksheets[0].iter_rows(values_only=True):
                if len(rows) > MAX_ROWS:
                    raise ValidationFailed({"file": f"has more than {MAX_ROWS} rows"})
                rows.append([_text(v) for v in row])
        finally:
            book.close()
    except EngineError:
        raise
    except Exception as exc:  # whatever a broken or hostile workbook makes openpyxl raise, while opening or reading
        raise ValidationFailed({"file": "is not a readable Excel file (.xlsx)"}) from exc
    return rows


def _csv_rows(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GB18030
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed({"file": "is neither UTF-8 nor GB18030 text"})
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if len(rows) > MAX_ROWS:
            raise ValidationFailed({"file": f"has more than {MAX_ROWS} rows"})
        rows.append([cell.strip() for cell in row])
    return rows


def _form_names(fields: list[dict[str, Any]]) -> dict[str, str]:
    """A lead form's field by its id, label or English label (lower case)."""
    names: dict[str, str] = {}
    for f in fields:
        for name in (f["id"], f.get("label"), (f.get("properties") or {}).get("label_en")):
            if name:
                names[str(name).strip().lower()] = f["id"]
    return names


def _customer_names() -> dict[str, str]:
    names = {target: target for target in CUSTOMER_HEADERS}
    for target, headers in CUSTOMER_HEADERS.items():
        names.update({h.lower(): target for h in headers})
    return names


def _header_map(
    headers: list[str], names: dict[str, str], chosen: dict[str, str] | None = None
) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """Column number -> field; `chosen` (header -> field, "" to leave a column out) is the mapping
    the person set on the preview, checked against the fields there are."""
    targets = set(names.values()) | {"owner"}
    if chosen is not None:
        wrong = sorted(f for f in chosen.values() if f and f not in targets)
        if wrong:
            raise ValidationFailed({"mapping": f"no such field: {', '.join(wrong)}"})
    columns: dict[int, str] = {}
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for i, header in enumerate(headers):
        key = header.strip().lower()
        if chosen is not None and header in chosen:
            target: str | None = chosen[header] or None
        else:
            target = "owner" if key in OWNER_HEADERS else names.get(key)
        if target and target not in columns.values():
            columns[i] = target
            mapping[header] = target
        elif header.strip():
            unmapped.append(header)
    return columns, mapping, unmapped


def _option_ids(fields: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per enum field: option id or its (Chinese) name -> the option id."""
    out: dict[str, dict[str, str]] = {}
    for f in fields:
        if f.get("type") == "enum":
            out[f["id"]] = {
                **{str(o["id"]).lower(): o["id"] for o in f.get("options", [])},
                **{str(o.get("name")).lower(): o["id"] for o in f.get("options", []) if o.get("name")},
            }
    return out


class MissingColumn(ValidationFailed):
    """No column of the file maps to a required field. Carries the header row and what did map,
    so that the preview can offer the mapping to correct by hand."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__({"file": message})
        self.report = report


class ImportService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        customers: CustomerService,
        db: Database,
        identity: IdentityService,
        repository: RepositoryService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._customers = customers
        self._db = db
        self._identity = identity
        self._repository = repository
        self._runtime = runtime

    def leads(
        self, actor: Actor, filename: str, content: bytes, dry_run: bool = True, mapping: dict[str, str] | None = None
    ) -> ImportReport:
        table = read_table(filename, content)
        if not table or not any(table[0]):
            raise ValidationFailed({"file": "has no header row"})
        scope = self._db.sessions() if dry_run else self._db.transaction()  # a preview is rolled back
        with scope as session:
            definition = self._repository.latest(session, PROCESS)
            self._authorization.require_start(definition, actor)
            fields = (definition.start_meta or {}).get("form") or []
            columns, mapped, unmapped = _header_map(table[0], _form_names(fields), mapping)
            report = ImportReport(dry_run, rows=len(table) - 1, headers=table[0], mapping=mapped, unmapped=unmapped)
            if "company" not in columns.values():
                raise MissingColumn("needs a column for the company (company / 公司名称)", report)
            options = _option_ids(fields)
            seen: dict[str, int] = {}
            starters: dict[str, Actor] = {}
            for number, row in enumerate(table[1:], start=2):  # spreadsheet row numbers
                if not any(row):
                    report.rows -= 1
                    continue
                values: dict[str, Any] = {}
                owner = actor.username
                for i, target in columns.items():
                    cell = row[i] if i < len(row) else ""
                    if len(cell) > MAX_CELL:
                        cell = cell[:MAX_CELL]
                    if target == "owner":
                        owner = cell or actor.username
                    elif cell:
                        values[target] = options.get(target, {}).get(cell.lower(), cell)
                try:
                    cleaned = forms.validate(fields, values)
                    starter = self._starter(session, actor, owner, starters)
                except ValidationFailed as exc:
                    report.errors.append(
                        {"row": number, "message": "; ".join(f"{k}: {v}" for k, v in exc.fields.items()), "fields": exc.fields}
                    )
                    continue
                duplicate = self._duplicate(session, cleaned, seen, number)
                if duplicate is not None:
                    report.duplicates.append({"row": number, "company": cleaned.get("company"), **duplicate})
                    continue
                if dry_run:
                    report.created.append(number)
                else:
                    report.created.append(self._runtime.start_in(session, starter, PROCESS, cleaned).id)
            return report

    def customers(
        self, actor: Actor, filename: str, content: bytes, dry_run: bool = True, mapping: dict[str, str] | None = None
    ) -> ImportReport:
        """Customers into the file, each row as the customer form (owner: the importer unless the
        row names one they may give customers to); `created` holds the new customer ids."""
        self._authorization.require_create_customer(actor)
        table = read_table(filename, content)
        if not table or not any(table[0]):
            raise ValidationFailed({"file": "has no header row"})
        columns, mapped, unmapped = _header_map(table[0], _customer_names(), mapping)
        report = ImportReport(dry_run, rows=len(table) - 1, headers=table[0], mapping=mapped, unmapped=unmapped)
        if "name" not in columns.values():
            raise MissingColumn("needs a column for the customer's name (name / 客户名称)", report)
        scope = self._db.sessions() if dry_run else self._db.transaction()  # a preview is rolled back
        with scope as session:
            for number, row in enumerate(table[1:], start=2):
                if not any(row):
                    report.rows -= 1
                    continue
                values: dict[str, Any] = {}
                for i, target in columns.items():
                    cell = (row[i] if i < len(row) else "")[:MAX_CELL]
                    if cell:
                        values[target] = CUSTOMER_VALUES.get(target, {}).get(cell, cell)
                if isinstance(values.get("grade"), str):
                    values["grade"] = values["grade"].upper()
                if isinstance(values.get("status"), str):
                    values["status"] = values["status"].lower()
                try:  # a refused row is refused before anything of it is written
                    customer = self._customers.create_in(session, actor, values)
                except Duplicate as exc:
                    report.duplicates.append(
                        {"row": number, "company": values.get("name"), "existing_customer": exc.extra.get("existing_id")}
                    )
                    continue
                except (ValidationFailed, Forbidden) as exc:
                    problems = exc.fields if isinstance(exc, ValidationFailed) else {"owner": exc.message}
                    report.errors.append(
                        {"row": number, "message": "; ".join(f"{k}: {v}" for k, v in problems.items()), "fields": problems}
                    )
                    continue
                report.created.append(number if dry_run else customer.id)
            return report

    def lead_fields(self, session: Session, actor: Actor) -> list[dict[str, Any]]:
        """The lead form's fields, which a lead import's columns map to."""
        definition = self._repository.latest(session, PROCESS)
        self._authorization.require_start(definition, actor)
        return list((definition.start_meta or {}).get("form") or [])

    def _starter(self, session: Session, actor: Actor, owner: str, cache: dict[str, Actor]) -> Actor:
        if owner == actor.username:
            return actor
        if owner not in cache:
            if session.scalar(select(User.id).where(User.username == owner, User.active.is_(True))) is None:
                raise ValidationFailed({"owner": "no active user with this name"})
            self._authorization.check_customer_owner(session, actor, owner)
            cache[owner] = self._identity.actor(session, owner)
        return cache[owner]

    def _duplicate(self, session: Session, values: dict[str, Any], seen: dict[str, int], number: int) -> dict[str, Any] | None:
        keys = [
            k
            for k in (
                "company:" + matching.company(str(values.get("company") or "")),
                "phone:" + (matching.phone(values.get("phone")) or ""),
                "email:" + (matching.email(values.get("email")) or ""),
            )
            if not k.endswith(":")
        ]
        for key in keys:
            if key in seen:
                return {"of_row": seen[key]}
        company, phone, email = values.get("company"), values.get("phone"), values.get("email")
        lead_match = matching.same_party(Lead.company_norm, Lead.phone_norm, Lead.email_norm, company, phone, email)
        existing = session.scalar(select(Lead.id).where(or_(*lead_match), Lead.status != "merged").limit(1))
        if existing is not None:
            return {"existing_lead": existing}
        customer_match = matching.same_party(Customer.name_norm, Customer.phone_norm, Customer.email_norm, company, phone, email)
        customer = session.scalar(select(Customer.id).where(or_(*customer_match)).limit(1))
        if customer is not None:
            return {"existing_customer": customer}
        for key in keys:
            seen[key] = number
        return None

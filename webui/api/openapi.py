"""The OpenAPI 3 document of /api/v1. A test checks it lists exactly the routes that exist."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.services.activities import ACTIVITY_KINDS
from engine.services.customers import GRADES, RELATIONSHIPS, STATUSES
from engine.services.customers import SORTS as CUSTOMER_SORTS
from engine.services.customers import TEXT_FIELDS as CUSTOMER_TEXT_FIELDS
from engine.services.opportunities import STAGES as OPPORTUNITY_STAGES
from engine.services.tasks import SCOPES
from webui.api import bp
from webui.spreadsheets import XLSX as XLSX_MEDIA


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _substitute_paths(summary: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    shown = {"type": "object", "properties": {"substitute": {**_ref("Substitute"), "nullable": True}}}
    body = {
        "type": "object",
        "required": ["username", "from", "until"],
        "properties": {
            "username": {"type": "string", "description": "the substitute"},
            "from": {"type": "string", "format": "date"},
            "until": {"type": "string", "format": "date"},
        },
    }
    operations: dict[str, Any] = {
        "get": {"summary": summary, "responses": {"200": _json(shown), **_errors(401, 403, 404)}},
        "put": {
            "summary": "Name the substitute for a date range (days in the working time zone, both included)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _json(shown), **_errors(400, 401, 403, 404, 422)},
        },
        "delete": {"summary": "End the arrangement now", "responses": {"204": {"description": "ended"}, **_errors(401, 403, 404)}},
    }
    for operation in operations.values():
        if parameters:
            operation["parameters"] = parameters
    return operations


_BUDGET_PATH = [
    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": "month", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}},
]
_CHANNEL_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 100},
    "kind": {"type": "string", "enum": ["wecom", "dingtalk", "feishu", "webhook"]},
    "url": {"type": "string", "maxLength": 1000},
    "kinds": {"type": "array", "items": {"type": "string"}, "description": "notice kinds; none: all"},
    "roles": {"type": "array", "items": {"type": "string"}, "description": "roles of the people told; none: everyone"},
    "locale": {"type": "string", "enum": ["zh_CN", "en"]},
    "active": {"type": "boolean"},
}
_YEAR = {"name": "year", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}
_CHANNEL_ID = {"name": "channel_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
_INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


def _instance_operation(summary: str, reason_required: bool) -> dict[str, Any]:
    """An admin's operation on an instance: `reason` in the body, the instance back."""
    body: dict[str, Any] = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 1000}}}
    if reason_required:
        body["required"] = ["reason"]
    return {
        "post": {
            "summary": summary,
            "parameters": [_INSTANCE_ID],
            "requestBody": {"required": reason_required, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _json(_ref("Instance")), **_errors(400, 401, 403, 404, 409, 422)},
        }
    }


def _import_path(summary: str) -> dict[str, Any]:
    upload = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "mapping": {"type": "string", "description": "JSON object: column header -> field id ('' leaves the column out)"},
        },
    }
    report = {
        "type": "object",
        "properties": {
            "rows": {"type": "integer"},
            "created": {"type": "integer"},
            "mapping": {"type": "object", "additionalProperties": {"type": "string"}},
            "duplicates": {"type": "array", "items": {"type": "object"}},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "post": {
            "summary": summary,
            "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "boolean", "default": False}}],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload}}},
            "responses": {"200": _json(report), **_errors(400, 401, 403, 413, 422)},
        }
    }


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        401: "Not logged in",
        403: "Not allowed",
        404: "Unknown (or not visible)",
        409: "Conflict",
        413: "Too large",
        422: "Invalid content",
        429: "Too many failed logins, or asked again too soon (Retry-After)",
    }
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


_USER = {
    "username": {"type": "string"},
    "display_name": {"type": "string"},
    "email": {"type": "string", "nullable": True},
    "active": {"type": "boolean"},
    "locale": {"type": "string"},
    "roles": {"type": "array", "items": {"type": "string"}},
    "department": {"type": "string", "nullable": True},
    "superior": {"type": "string", "nullable": True},
}
_CUSTOMER = {
    "name": {"type": "string", "maxLength": 300},
    "status": {"type": "string", "enum": list(STATUSES)},
    "grade": {"type": "string", "enum": list(GRADES), "nullable": True},
    "owner": {"type": "string", "nullable": True},
    **{field: {"type": "string", "maxLength": limit, "nullable": True} for field, limit in CUSTOMER_TEXT_FIELDS.items()},
}
_OPPORTUNITY_ID = {
    "name": "opportunity_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
_CUSTOMER_ID = {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000000, "default": 0}},
]
_SEARCH_DESCRIPTION = (
    "Besides the parameters below, any `data.<field>=<value>` (equality; text without regard to case, numbers as "
    "numbers), `data.<field>.like=` (text containing) and `data.<field>.gte=` / `data.<field>.lte=` (numbers and ISO "
    "dates); 422 names a malformed one. The caller's scope: admins all; others the instances they or their reports "
    "started or took part in, and those with a step offered to them."
)
_SEARCH = [
    {"name": "process_key", "in": "query", "schema": {"type": "string"}},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["running", "suspended", "completed", "terminated", "error"]}},
    {
        "name": "q",
        "in": "query",
        "description": "#number, business key, customer name, or text any business field contains",
        "schema": {"type": "string", "maxLength": 200},
    },
    {"name": "started_from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "started_to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "step", "in": "query", "description": "an open step's BPMN id", "schema": {"type": "string"}},
    {"name": "overdue", "in": "query", "description": "an open step past its due time", "schema": {"type": "boolean"}},
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["-started", "started", "-updated", "updated"]}},
]


def _export(summary: str, media_type: str) -> dict[str, Any]:
    """A search exported as a download (the first 10,000 rows)."""
    return {
        "get": {
            "summary": summary,
            "description": _SEARCH_DESCRIPTION
            + " At most 10,000 rows; X-Total-Count says how many matched (left out when more than 10,000 matched a non-admin's unfiltered list: not counted).",
            "parameters": _SEARCH,
            "responses": {
                "200": {"description": "A download", "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
                **_errors(401, 422),
            },
        }
    }


_XML_UPLOAD = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}
        },
    },
}


# A form with file fields, sent as multipart/form-data: the JSON body as the part `body`, each
# file as a part `data.<field>` (webui.api.body_with_files).
_WITH_FILES: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {"body": {"type": "string", "description": "the JSON body, as with application/json"}},
        "additionalProperties": {"type": "string", "format": "binary", "description": "a file for the form field data.<field>"},
    }
}


def _with_files(operation: dict[str, Any]) -> dict[str, Any]:
    operation["requestBody"]["content"]["multipart/form-data"] = _WITH_FILES
    return operation


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """A required JSON request body of this schema."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _action(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [_ID],
        "responses": {"200": _json(_ref("Task")), **_errors(400, 401, 403, 404, 409, 422)},
    }
    if body is not None:
        op["requestBody"] = _body(body)
    return op


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "CRMFlow API", "version": "1.0.0", "description": "BPMN process system for CRM work."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/auth/token": {
            "post": {
                "summary": "Exchange username and password for a bearer token",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json({"type": "object", "properties": {"token": {"type": "string"}, "user": {"type": "object"}}}),
                    **_errors(400, 401, 422, 429),
                },
            }
        },
        "/auth/sessions": {
            "get": {
                "summary": "The caller's live browser sessions and API tokens (12 hours each, from their start)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "string"},
                                            "kind": {"type": "string", "enum": ["browser", "api"]},
                                            "created_at": {"type": "string", "format": "date-time"},
                                            "expires_at": {"type": "string", "format": "date-time"},
                                            "address": {"type": "string"},
                                            "user_agent": {"type": "string"},
                                            "current": {"type": "boolean"},
                                        },
                                    },
                                }
                            },
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/auth/sessions/{public_id}": {
            "delete": {
                "summary": "End one of the caller's sessions or tokens",
                "parameters": [{"name": "public_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Ended"}, **_errors(401, 404)},
            }
        },
        "/auth/logout": {
            "post": {
                "summary": "End the token this request carries",
                "responses": {"204": {"description": "Ended"}, **_errors(401)},
            }
        },
        "/process-definitions": {
            "get": {
                "summary": "Latest version of each process definition",
                "responses": {"200": _json({"type": "array", "items": _ref("Definition")}), **_errors(401)},
            },
            "post": {
                "summary": "Deploy BPMN/DMN files as new versions (admins)",
                "requestBody": _XML_UPLOAD,
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "deployed": {"type": "array", "items": {"type": "object"}},
                                "decisions": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "Deployed",
                    ),
                    **_errors(400, 401, 403, 409, 413, 422),
                },
            },
        },
        "/process-definitions/validate": {
            "post": {
                "summary": "Validate BPMN/DMN files without deploying (admins)",
                "requestBody": _XML_UPLOAD,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"valid": {"type": "boolean"}, "problems": {"type": "array", "items": _ref("Problem")}},
                        }
                    ),
                    **_errors(400, 401, 403, 413, 422),
                },
            }
        },
        "/process-definitions/{key}": {
            "get": {
                "summary": "Latest version of a definition, with all versions",
                "parameters": [_KEY],
                "responses": {"200": _json(_ref("Definition")), **_errors(401, 404)},
            }
        },
        "/process-definitions/{key}/xml": {
            "get": {
                "summary": "BPMN XML of the latest version",
                "parameters": [_KEY],
                "responses": {
                    "200": {"description": "BPMN XML", "content": {"application/xml": {"schema": {"type": "string"}}}},
                    **_errors(401, 404),
                },
            }
        },
        "/process-definitions/{key}/statistics": {
            "get": {
                "summary": "Instances by status and, per step, open, overdue, completed and late in the period with average, "
                "p50 and p90 seconds (supervisors: their team's; admins: all)",
                "parameters": [
                    _KEY,
                    {"name": "days", "in": "query", "schema": {"type": "integer", "enum": [7, 30, 90, 365], "default": 30}},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "name": {"type": "string"},
                                "since": {"type": "string", "format": "date-time"},
                                "instances": {"type": "object", "additionalProperties": {"type": "integer"}},
                                "activities": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "task_key": {"type": "string"},
                                            "name": {"type": "string"},
                                            "open": {"type": "integer"},
                                            "overdue": {"type": "integer"},
                                            "completed": {"type": "integer"},
                                            "late": {"type": "integer"},
                                            "avg_seconds": {"type": "number", "nullable": True},
                                            "p50_seconds": {"type": "number", "nullable": True},
                                            "p90_seconds": {"type": "number", "nullable": True},
                                        },
                                    },
                                },
                            },
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/process-definitions/{key}/diff": {
            "get": {
                "summary": "Elements added, removed and changed between two versions (admins)",
                "parameters": [
                    _KEY,
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                    {"name": "to", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404, 422)},
            }
        },
        "/process-definitions/{key}/migrations": {
            "post": {
                "summary": "Plan (dry run, the default) or carry out moving running instances to a version (admins)",
                "parameters": [_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["to_version"],
                                "properties": {
                                    "to_version": {"type": "integer"},
                                    "from_version": {"type": "integer"},
                                    "instance_ids": {"type": "array", "items": {"type": "integer"}},
                                    "dry_run": {"type": "boolean", "default": True},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/process-instances/bulk": {
            "post": {
                "summary": "Suspend, resume or terminate many instances, each in its own transaction (admins)",
                "description": "The instances are a search's ids (at most 500); one whose status does not allow the "
                "operation is listed under `skipped` with why. A reason is required to suspend or terminate.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["action", "instances"],
                                "properties": {
                                    "action": {"type": "string", "enum": ["suspend", "resume", "terminate"]},
                                    "instances": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 500},
                                    "reason": {"type": "string", "maxLength": 1000},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "action": {"type": "string"},
                                "done": {"type": "array", "items": {"type": "integer"}},
                                "skipped": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        }
                    ),
                    **_errors(400, 401, 403, 422),
                },
            }
        },
        "/process-instances/export.xlsx": _export(
            "The search's instances as an XLSX workbook, one row each, business fields as columns", XLSX_MEDIA
        ),
        "/process-instances/export.csv": _export("The same as CSV (UTF-8 with a byte-order mark)", "text/csv"),
        "/process-instances": {
            "get": {
                "summary": "Instances the caller may see, newest first, searched by business data",
                "description": _SEARCH_DESCRIPTION,
                "parameters": [*_SEARCH, *_PAGING],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _ref("Instance")},
                                "total": {"type": "integer"},
                                "total_exact": {
                                    "type": "boolean",
                                    "description": "false: more than 10,000 instances matched a non-admin's unfiltered list and"
                                    " total is 10,000 (page on with offset while items come back full)",
                                },
                            },
                        }
                    ),
                    **_errors(400, 401, 422),
                },
            },
            "post": {
                "summary": "Start an instance with its start form's values",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["process_key"],
                                "properties": {
                                    "process_key": {"type": "string"},
                                    "data": {"type": "object"},
                                    "business_key": {"type": "string"},
                                },
                            }
                        },
                        "multipart/form-data": _WITH_FILES,
                    },
                },
                "responses": {"201": _json(_ref("Instance"), "Started"), **_errors(400, 401, 403, 404, 413, 422)},
            },
        },
        "/process-instances/{instance_id}/suspend": _instance_operation(
            "Suspend (admins): tasks answer 409 `suspended`, timers wait and fire after resume", reason_required=True
        ),
        "/process-instances/{instance_id}/resume": _instance_operation("Resume a suspended instance (admins)", reason_required=False),
        "/process-instances/{instance_id}/terminate": _instance_operation(
            "Terminate (admins): open tasks leave every worklist, jobs are cancelled, who and why in the history", reason_required=True
        ),
        "/process-instances/{instance_id}/withdraw": _instance_operation(
            "Withdraw (撤回, the requester, while it runs, where the process allows it): `terminated`, outcome `withdrawn`;"
            " whoever it waited for is told",
            reason_required=False,
        ),
        "/process-instances/{instance_id}/urge": {
            "post": {
                "summary": "Urge (催办, the requester): whoever the open steps wait for is notified (kind `urge`); once an hour",
                "parameters": [
                    {
                        "name": "instance_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"notified": {"type": "array", "items": {"type": "string"}}}}, "Who was told"
                    ),
                    **_errors(401, 403, 404, 409, 429),
                },
            }
        },
        "/process-instances/{instance_id}/attachments": {
            "get": {
                "summary": "The instance's files, oldest first, without their bytes (whoever may see the instance)",
                "parameters": [_INSTANCE_ID],
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Attachment")}}}),
                    **_errors(401, 404),
                },
            },
            "post": {
                "summary": "Attach a file to a running instance (whoever may see it): PDF, PNG, JPEG, GIF, WebP, Office"
                " documents, UTF-8 text; the type is read from the bytes; at most ATTACHMENT_MAX_BYTES (10 MB)",
                "parameters": [_INSTANCE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Attachment"), "Attached"), **_errors(400, 401, 404, 409, 413, 422)},
            },
        },
        "/attachments/{attachment_id}": {
            "get": {
                "summary": "A file's bytes, always as a download (Content-Disposition: attachment, nosniff), to whoever may"
                " see its instance",
                "parameters": [
                    {
                        "name": "attachment_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The bytes",
                        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_errors(401, 404),
                },
            }
        },
        "/process-instances/{instance_id}/comments": {
            "get": {
                "summary": "The instance's comments, oldest first (whoever may see the instance)",
                "parameters": [_INSTANCE_ID],
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Comment")}}}),
                    **_errors(401, 404),
                },
            },
            "post": {
                "summary": "Comment on a running instance (whoever may see it): a line of its history; its requester and"
                " whoever its open steps wait for are told",
                "parameters": [_INSTANCE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 2000}},
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Comment"), "Added"), **_errors(400, 401, 404, 409, 422)},
            },
        },
        "/process-instances/{instance_id}": {
            "get": {
                "summary": "One instance: data, open tasks, history",
                "parameters": [
                    {
                        "name": "instance_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {"200": _json(_ref("Instance")), **_errors(401, 404)},
            }
        },
        "/tasks": {
            "get": {
                "summary": "Ready user tasks by scope",
                "parameters": [
                    {
                        "name": "scope",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(SCOPES), "default": "mine"},
                    },
                    {"name": "process_key", "in": "query", "schema": {"type": "string"}},
                    {"name": "instance_id", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
                    *_PAGING,
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Task")}, "total": {"type": "integer"}}}
                    ),
                    **_errors(400, 401, 403, 422),
                },
            }
        },
        "/tasks/{task_id}": {
            "get": {
                "summary": "One task with its form and business context",
                "parameters": [_ID],
                "responses": {"200": _json(_ref("Task")), **_errors(401, 404)},
            }
        },
        "/tasks/{task_id}/claim": {"post": _action("Claim a task offered to you")},
        "/tasks/{task_id}/unclaim": {"post": _action("Give a task back to its candidates")},
        "/tasks/{task_id}/assign": {
            "post": _action(
                "Assign a task to a user (the assignee's superiors and admins)",
                {"type": "object", "required": ["username"], "properties": {"username": {"type": "string"}}},
            )
        },
        "/tasks/{task_id}/add-approver": {
            "post": {
                **_action(
                    "加签: add an approver to a chain step, before oneself (the step goes to them now and comes back) or after"
                    " oneself (they approve next); whoever may decide the step; never the requester",
                    {
                        "type": "object",
                        "required": ["username", "position"],
                        "properties": {"username": {"type": "string"}, "position": {"type": "string", "enum": ["before", "after"]}},
                    },
                ),
                "responses": {
                    "200": _json({"type": "object", "properties": {"approvers": {"type": "array", "items": {"type": "string"}}}}),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/tasks/{task_id}/complete": {
            "post": {
                **_with_files(
                    _action("Complete a task with its form values", {"type": "object", "properties": {"data": {"type": "object"}}})
                ),
                "responses": {
                    "200": _json({"type": "object", "properties": {"instance": _ref("Instance")}}),
                    **_errors(400, 401, 403, 404, 409, 413, 422),
                },
            }
        },
        "/messages": {
            "post": {
                "summary": "Deliver a message to the instance waiting for it",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "business_key": {"type": "string"},
                                    "instance_id": {"type": "integer"},
                                    "data": {"type": "object"},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("Instance")), **_errors(400, 401, 404, 422)},
            }
        },
        "/notifications": {
            "get": {
                "summary": "The caller's notifications, newest first",
                "parameters": [_PAGING[0]],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("Notification")}, "unread": {"type": "integer"}},
                        }
                    ),
                    **_errors(400, 401),
                },
            }
        },
        "/notifications/{notification_id}/read": {
            "post": {
                "summary": "Mark one notification read",
                "parameters": [
                    {
                        "name": "notification_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)},
            }
        },
        "/admin/users/{username}/handover": {
            "post": {
                "summary": "Hand everything a user owns and holds to a successor (admins); dry_run (default true) only lists it",
                "parameters": [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["to"],
                                "properties": {"to": {"type": "string"}, "dry_run": {"type": "boolean", "default": True}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                k: {"type": "integer"} for k in ("customers", "leads", "opportunities", "receivables", "tasks", "instances")
                            },
                        }
                    ),
                    **_errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/customers": {
            "get": {
                "summary": "The customers the caller may see (owner, superiors, sales assistants and director, gm, admins)",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                    {"name": "owner", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                    {"name": "grade", "in": "query", "schema": {"type": "string", "enum": list(GRADES)}},
                    {"name": "industry", "in": "query", "schema": {"type": "string"}},
                    {"name": "untouched_days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3650}},
                    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(CUSTOMER_SORTS)}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
                    _PAGING[0],
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _ref("Customer")},
                                "total": {"type": "integer"},
                                "page": {"type": "integer"},
                            },
                        }
                    ),
                    **_errors(400, 401),
                },
            },
            "post": {
                "summary": "Create a customer (409 `duplicate` with `existing_id` for a normalised duplicate)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CustomerInput")}}},
                "responses": {"201": _json(_ref("Customer")), **_errors(400, 401, 403, 409, 422)},
            },
        },
        "/customers/{customer_id}": {
            "get": {
                "summary": "A customer with its contacts and timeline (404 beyond the caller's customers)",
                "parameters": [_CUSTOMER_ID],
                "responses": {"200": _json(_ref("CustomerDetail")), **_errors(401, 404)},
            },
            "patch": {
                "summary": "Change a customer's fields; the owner only by the owner's superiors, the sales director or admins",
                "parameters": [_CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CustomerInput")}}},
                "responses": {"200": _json(_ref("Customer")), **_errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/customers/{customer_id}/contacts": {
            "post": {
                "summary": "Add a contact",
                "parameters": [_CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Contact")}}},
                "responses": {"201": _json(_ref("Contact")), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/customers/{customer_id}/activities": {
            "post": {
                "summary": "Log a call, visit, email, meeting or note; next_at becomes a reminder for the assignee",
                "parameters": [_CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ActivityInput")}}},
                "responses": {"201": _json(_ref("Activity")), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/opportunities/{opportunity_id}/activities": {
            "post": {
                "summary": "Log an activity on an opportunity (touches it and its customer)",
                "parameters": [_OPPORTUNITY_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ActivityInput")}}},
                "responses": {"201": _json(_ref("Activity")), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/leads/{lead_id}/activities": {
            "post": {
                "summary": "Log an activity on an open lead (409 once it is qualified: log it on its customer)",
                "parameters": [
                    {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ActivityInput")}}},
                "responses": {"201": _json(_ref("Activity")), **_errors(400, 401, 403, 404, 409, 422)},
            }
        },
        "/me/follow-ups": {
            "get": {
                "summary": "Your follow-ups: next steps of activities due today or earlier and not done, oldest first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("FollowUp")}, "total": {"type": "integer"}},
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/activities/{activity_id}/done": {
            "post": {
                "summary": "Close a follow-up; with `summary` what was done is logged as a new activity (`logged`)",
                "parameters": [
                    {
                        "name": "activity_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("ActivityInput")}}},
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "done": {"type": "boolean"},
                                "logged": {"oneOf": [_ref("Activity"), {"type": "null"}]},
                            },
                        }
                    ),
                    **_errors(400, 401, 404, 409, 422),
                },
            }
        },
        "/imports/leads": _import_path(
            "Import leads from an XLSX or CSV file with a header row; each good row starts a lead_qualification"
        ),
        "/imports/customers": _import_path(
            "Import customers from an XLSX or CSV file with a header row; each good row a customer of the file"
        ),
        "/opportunities": {
            "get": {
                "summary": "The opportunities the caller may see, longest untouched first (flagged after 30 days)",
                "parameters": [
                    {"name": "owner", "in": "query", "schema": {"type": "string"}},
                    {"name": "stage", "in": "query", "schema": {"type": "string", "enum": list(OPPORTUNITY_STAGES)}},
                    {"name": "untouched_days", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 3650}},
                ],
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Opportunity")}}}),
                    **_errors(400, 401),
                },
            }
        },
        "/opportunities/{opportunity_id}": {
            "patch": {
                "summary": "Change the stage, value or expected close date (touches it)",
                "parameters": [_OPPORTUNITY_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "stage": {"type": "string", "enum": list(OPPORTUNITY_STAGES)},
                                    "estimated_value": {"type": "number", "minimum": 0, "nullable": True},
                                    "expected_close": {"type": "string", "format": "date", "nullable": True},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("Opportunity")), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/opportunities/{opportunity_id}/assign": {
            "post": {
                "summary": "Give the opportunity to another salesperson (the sales director, the owner's superiors)",
                "parameters": [_OPPORTUNITY_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "required": ["username"], "properties": {"username": {"type": "string"}}}
                        }
                    },
                },
                "responses": {"200": _json(_ref("Opportunity")), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/customers/{customer_id}/merge": {
            "post": {
                "summary": "Merge a duplicate customer into this one (admins, the sales director); dry_run (default) only previews",
                "parameters": [_CUSTOMER_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["duplicate_id"],
                                "properties": {"duplicate_id": {"type": "integer"}, "dry_run": {"type": "boolean", "default": True}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "keep_id": {"type": "integer"},
                                "duplicate_id": {"type": "integer"},
                                "duplicate_name": {"type": "string"},
                                "moves": {"type": "object", "additionalProperties": {"type": "integer"}},
                                "fills": {"type": "array", "items": {"type": "string"}},
                                "dry_run": {"type": "boolean"},
                            },
                        }
                    ),
                    **_errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/me/substitute": _substitute_paths("Your own substitute while you are away (代理人); `covering`: whom you stand in for"),
        "/users/{username}/substitute": _substitute_paths(
            "A person's substitute (the person, their superiors, admins)",
            [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
        "/incidents": {
            "get": {
                "summary": "Jobs that failed every attempt (admins)",
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Incident")}}}),
                    **_errors(401, 403),
                },
            }
        },
        "/incidents/{job_id}/retry": {
            "post": {
                "summary": "Run an incident's job again (admins)",
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
                ],
                "responses": {"200": _json(_ref("Incident")), **_errors(401, 403, 404, 409)},
            }
        },
        "/admin/users": {
            "get": {"summary": "All users (admins)", "responses": {"200": _json({"type": "object"}), **_errors(401, 403)}},
            "post": {
                "summary": "Create a user (admins)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UserInput")}}},
                "responses": {"201": _json(_ref("User"), "Created"), **_errors(400, 401, 403, 409, 422)},
            },
        },
        "/admin/users/{username}": {
            "patch": {
                "summary": "Change a user: name, email, language, roles, department, superior, active (admins)",
                "parameters": [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UserInput")}}},
                "responses": {"200": _json(_ref("User")), **_errors(400, 401, 403, 404, 409, 422)},
            }
        },
        "/admin/users/{username}/password": {
            "post": {
                "summary": "Reset a password; a generated one is returned once when none is given (admins)",
                "parameters": [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object", "properties": {"password": {"type": "string"}}}}},
                },
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403, 404, 422)},
            }
        },
        "/admin/roles": {
            "get": {"summary": "All roles (admins)", "responses": {"200": _json({"type": "object"}), **_errors(401, 403)}},
            "post": {
                "summary": "Create a role (admins)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "label": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"201": _json({"type": "object"}, "Created"), **_errors(400, 401, 403, 409, 422)},
            },
        },
        "/admin/departments": {
            "get": {"summary": "All departments (admins)", "responses": {"200": _json({"type": "object"}), **_errors(401, 403)}}
        },
        "/admin/process-definitions/{key}/history-ttl": {
            "put": {
                "summary": "How many days every version of a process keeps finished instances before the history cleanup removes them (admins)",
                "parameters": [_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["days"],
                                "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 36500, "nullable": True}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"key": {"type": "string"}, "days": {"type": "integer", "nullable": True}}}
                    ),
                    **_errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/admin/budgets/{code}/{month}": {
            "get": {
                "summary": "A department's expense budget for a month (finance, admins): amount, approved (used), pending, remaining",
                "parameters": _BUDGET_PATH,
                "responses": {"200": _json(_ref("Budget")), **_errors(401, 403, 404, 422)},
            },
            "put": {
                "summary": "Set a department's expense budget for a month (finance, admins); a department expense that would"
                " take the month over it follows the special-expense chain",
                "parameters": _BUDGET_PATH,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}}
                        }
                    },
                },
                "responses": {"200": _json(_ref("Budget")), **_errors(400, 401, 403, 404, 422)},
            },
        },
        "/admin/calendar/{year}": {
            "get": {
                "summary": "A year of the working calendar (admins): holidays and make-up working days (调休), and where they come from",
                "parameters": [_YEAR],
                "responses": {"200": _json(_ref("CalendarYear")), **_errors(401, 403, 404)},
            },
            "put": {
                "summary": "Enter a year's holidays and make-up working days (admins): the calendar takes them over the packaged data",
                "parameters": [_YEAR],
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "holidays": {"type": "array", "items": {"type": "string", "format": "date"}, "maxItems": 200},
                            "workdays": {"type": "array", "items": {"type": "string", "format": "date"}, "maxItems": 200},
                        },
                    }
                ),
                "responses": {"200": _json(_ref("CalendarYear")), **_errors(400, 401, 403, 404, 422)},
            },
            "delete": {
                "summary": "Remove an entered year (admins): the packaged data, or none, again",
                "parameters": [_YEAR],
                "responses": {"204": {"description": "Removed"}, **_errors(401, 403, 404)},
            },
        },
        "/admin/channels": {
            "get": {
                "summary": "The notification channels (admins); secrets are never shown",
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Channel")}}}),
                    **_errors(401, 403),
                },
            },
            "post": {
                "summary": "Add a channel (admins): a WeCom, DingTalk or Feishu group robot, or a JSON webhook signed with"
                " HMAC-SHA256; notices of its `kinds` (none: all) for people of its `roles` (none: everyone) go there",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChannelInput")}}},
                "responses": {"201": _json(_ref("Channel"), "Added"), **_errors(400, 401, 403, 422)},
            },
        },
        "/admin/channels/{channel_id}": {
            "patch": {
                "summary": "Change a channel (admins)",
                "parameters": [_CHANNEL_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChannelInput")}}},
                "responses": {"200": _json(_ref("Channel")), **_errors(400, 401, 403, 404, 422)},
            },
            "delete": {
                "summary": "Remove a channel (admins)",
                "parameters": [_CHANNEL_ID],
                "responses": {"204": {"description": "Removed"}, **_errors(401, 403, 404)},
            },
        },
        "/admin/departments/{code}": {
            "put": {
                "summary": "Create or change a department: names, manager, parent (admins)",
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "name_en": {"type": "string"},
                                    "manager": {"type": "string", "nullable": True},
                                    "parent": {"type": "string", "nullable": True},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json({"type": "object"}),
                    "201": _json({"type": "object"}, "Created"),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/admin/audit": {
            "get": {
                "summary": "Administrative changes, newest first (admins)",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403)},
            }
        },
        "/process-definitions/{key}/draft": {
            "get": {
                "summary": "The designer's saved draft of a process (admins)",
                "parameters": [_KEY],
                "responses": {
                    "200": {"description": "BPMN XML", "content": {"application/xml": {"schema": {"type": "string"}}}},
                    **_errors(401, 403, 404),
                },
            },
            "put": {
                "summary": "Save a draft (not deployed) (admins)",
                "parameters": [_KEY],
                "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}},
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 413, 422)},
            },
        },
        "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": _json({"type": "object"})}}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Budget": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number", "nullable": True},
                    "used": {"type": "number"},
                    "pending": {"type": "number"},
                    "remaining": {"type": "number", "nullable": True},
                },
            },
            "Channel": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, **_CHANNEL_FIELDS, "has_secret": {"type": "boolean"}},
            },
            "CalendarYear": {
                "type": "object",
                "properties": {
                    "year": {"type": "integer"},
                    "source": {"type": "string", "enum": ["admin", "chinesecalendar", "none"]},
                    "holidays": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "workdays": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "complete": {"type": "boolean", "description": "false: no holiday data, deadlines there skip weekends only"},
                },
            },
            "ChannelInput": {"type": "object", "properties": {**_CHANNEL_FIELDS, "secret": {"type": "string", "maxLength": 200}}},
            "Attachment": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "filename": {"type": "string"},
                    "size": {"type": "integer"},
                    "content_type": {"type": "string"},
                    "uploaded_by": {"type": "string"},
                    "uploaded_at": {"type": "string", "format": "date-time"},
                },
            },
            "Comment": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "user": {"type": "string", "nullable": True},
                    "text": {"type": "string"},
                },
            },
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "problems": {"type": "array", "items": _ref("Problem")},
                },
            },
            "Problem": {
                "type": "object",
                "properties": {
                    "element_id": {"type": "string"},
                    "element_name": {"type": "string"},
                    "message": {"type": "string"},
                    "severity": {"type": "string", "enum": ["error", "warning", "info"]},
                },
            },
            "Definition": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "key": {"type": "string"},
                    "name": {"type": "string"},
                    "version": {"type": "integer"},
                    "deployed_at": {"type": "string", "format": "date-time"},
                    "deployed_by": {"type": "string", "nullable": True},
                },
            },
            "Task": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "task_key": {"type": "string"},
                    "name": {"type": "string"},
                    "process_key": {"type": "string"},
                    "instance_id": {"type": "integer"},
                    "status": {"type": "string"},
                    "suspended": {"type": "boolean", "description": "its instance is suspended: claim and complete answer 409"},
                    "assignee": {"type": "string", "nullable": True},
                    "candidate_roles": {"type": "array", "items": {"type": "string"}},
                    "candidate_users": {"type": "array", "items": {"type": "string"}},
                    "excluded_users": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "four-eyes: who may never perform this task (the requester, who proposed what it decides)",
                    },
                    "created_at": {"type": "string", "format": "date-time"},
                    "due_at": {"type": "string", "format": "date-time", "nullable": True},
                    "priority": {"type": "integer"},
                    "form": {"type": "array", "items": {"type": "object"}},
                    "context": {"type": "object"},
                },
            },
            "Instance": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "process_key": {"type": "string"},
                    "version": {"type": "integer"},
                    "status": {"type": "string", "enum": ["running", "completed", "terminated", "suspended", "error"]},
                    "business_key": {"type": "string", "nullable": True},
                    "started_by": {"type": "string", "nullable": True},
                    "data": {"type": "object"},
                    "tasks": {"type": "array", "items": _ref("Task")},
                    "history": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "at": {"type": "string"},
                                "user": {"type": "string", "nullable": True},
                                "on_behalf_of": {"type": "string", "nullable": True, "description": "a substitute's action: whose work"},
                                "action": {"type": "string"},
                                "task_key": {"type": "string", "nullable": True},
                            },
                        },
                    },
                },
            },
            "Incident": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "kind": {"type": "string"},
                    "status": {"type": "string"},
                    "instance_id": {"type": "integer", "nullable": True},
                    "task_id": {"type": "string", "nullable": True},
                    "element_id": {"type": "string", "nullable": True},
                    "due_at": {"type": "string", "format": "date-time"},
                    "attempts": {"type": "integer"},
                    "last_error": {"type": "string", "nullable": True},
                },
            },
            "User": {
                "type": "object",
                "properties": _USER,
            },
            "UserInput": {
                "type": "object",
                "properties": {**_USER, "password": {"type": "string"}, "locale": {"type": "string", "enum": ["zh_CN", "en"]}},
            },
            "Notification": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string"},
                    "kind": {"type": "string"},
                    "message": {"type": "string"},
                    "instance_id": {"type": "integer", "nullable": True},
                    "task_id": {"type": "string", "nullable": True},
                    "read": {"type": "boolean"},
                },
            },
            "Customer": {"type": "object", "properties": {**_CUSTOMER, "id": {"type": "integer"}, "created_at": {"type": "string"}}},
            "CustomerInput": {"type": "object", "properties": _CUSTOMER},
            "CustomerDetail": {
                "type": "object",
                "properties": {
                    **_CUSTOMER,
                    "id": {"type": "integer"},
                    "contacts": {"type": "array", "items": _ref("Contact")},
                    "timeline": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "at": {"type": "string"},
                                "kind": {
                                    "type": "string",
                                    "enum": ["lead", "complaint", "approval", "receivable", "activity", "opportunity", "other"],
                                },
                                "summary": {"type": "string"},
                                "instance_id": {"type": "integer"},
                                "status": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "Substitute": {
                "type": "object",
                "properties": {
                    "username": {"type": "string", "description": "the absent person"},
                    "substitute": {"type": "string"},
                    "from": {"type": "string", "format": "date"},
                    "until": {"type": "string", "format": "date", "description": "the last day, included"},
                    "set_by": {"type": "string"},
                    "active": {"type": "boolean", "description": "today is within the dates"},
                },
            },
            "Opportunity": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "customer_id": {"type": "integer"},
                    "customer": {"type": "string"},
                    "title": {"type": "string"},
                    "stage": {"type": "string", "enum": list(OPPORTUNITY_STAGES)},
                    "estimated_value": {"type": "number", "nullable": True},
                    "expected_close": {"type": "string", "nullable": True},
                    "owner": {"type": "string", "nullable": True},
                    "last_touched_at": {"type": "string"},
                    "untouched_days": {"type": "integer"},
                    "flagged": {"type": "boolean"},
                },
            },
            "Contact": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string", "maxLength": 100},
                    "title": {"type": "string", "maxLength": 100, "nullable": True},
                    "phone": {"type": "string", "maxLength": 64, "nullable": True},
                    "email": {"type": "string", "maxLength": 254, "nullable": True},
                    "birthday": {"type": "string", "format": "date", "nullable": True},
                    "relationship": {"type": "string", "enum": list(RELATIONSHIPS), "nullable": True},
                    "notes": {"type": "string", "nullable": True},
                },
            },
            "ActivityInput": {
                "type": "object",
                "required": ["kind", "summary"],
                "properties": {
                    "kind": {"type": "string", "enum": list(ACTIVITY_KINDS)},
                    "summary": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "next_at": {"type": "string", "format": "date-time"},
                    "next_step": {"type": "string"},
                    "assignee": {"type": "string"},
                    "opportunity_id": {"type": "integer", "description": "on a customer: the one of its opportunities it is about"},
                },
            },
            "FollowUp": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "next_step": {"type": "string"},
                    "kind": {"type": "string"},
                    "next_at": {"type": "string", "format": "date-time"},
                    "about": {"type": "string"},
                    "customer_id": {"type": "integer", "nullable": True},
                    "opportunity": {"type": "string", "nullable": True},
                    "instance_id": {"type": "integer", "nullable": True},
                    "overdue": {"type": "boolean"},
                    "assignee": {"type": "string"},
                },
            },
            "Activity": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "customer_id": {"type": "integer", "nullable": True},
                    "opportunity_id": {"type": "integer", "nullable": True},
                    "lead_id": {"type": "integer", "nullable": True},
                    "kind": {"type": "string"},
                    "summary": {"type": "string"},
                    "at": {"type": "string"},
                    "assignee": {"type": "string"},
                    "created_by": {"type": "string"},
                    "next_step": {"type": "string", "nullable": True},
                    "next_at": {"type": "string", "nullable": True},
                    "done_at": {"type": "string", "nullable": True},
                },
            },
        },
    },
}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return SPEC

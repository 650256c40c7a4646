"""Engine errors. Each maps to one HTTP status in the API layer."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(EngineError):
    code, status = "bad_request", 400


class NotFound(EngineError):
    code, status = "not_found", 404


class Forbidden(EngineError):
    code, status = "forbidden", 403


class Conflict(EngineError):
    code, status = "conflict", 409


class ValidationFailed(EngineError):
    """Form data did not validate: field id -> message; nothing was stored."""

    code, status = "validation_failed", 422

    def __init__(self, fields: dict[str, str], message: str = "The form has errors.") -> None:
        super().__init__(message, fields=fields)
        self.fields = fields


class InvalidDefinition(EngineError):
    """A BPMN/DMN document that cannot be deployed: per-element problems; nothing deployed."""

    code, status = "invalid_definition", 422

    def __init__(self, problems: list[dict[str, Any]], message: str = "The definition is invalid.") -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class TooLarge(EngineError):
    code, status = "too_large", 413


class ExpressionError(EngineError):
    """An expression or script was refused by the sandbox or failed while running."""

    code, status = "expression_error", 422


class ProcessError(EngineError):
    """The process itself failed (a gateway condition, a script, an operation): rolled back."""

    code, status = "process_error", 422


class TooManyAttempts(EngineError):
    code, status = "too_many_attempts", 429


class TooSoon(EngineError):
    """Asked again before the allowed interval passed (an urge within the hour); `retry_after`
    says in how many seconds it may be asked."""

    code, status = "too_soon", 429


class Unavailable(EngineError):
    """Storage outside the database cannot serve the request (the attachment directory lost or
    changed a file, or refused one): the server's fault, said plainly, with nothing half-written."""

    code, status = "unavailable", 503

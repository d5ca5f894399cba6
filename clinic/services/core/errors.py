"""What a service raises when it refuses: one class per kind of refusal, each readable by a client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clinic.scheduling import Violation


class ServiceError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_json(self) -> list[dict[str, Any]]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return [error]


class InvalidRequest(ServiceError):
    """The request is malformed or names something impossible (a 400 / form error)."""

    status = 400
    code = "invalid_request"


class TooLarge(InvalidRequest):
    """An upload larger than the clinic takes (a photo): 413, with the limit said."""

    status = 413
    code = "too_large"


class InvalidData(ServiceError):
    """Several field errors at once, e.g. a catalogue file; each has a path."""

    status = 422
    code = "invalid_data"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e.get('field', '')}: {e['message']}" for e in errors[:5]))
        self.errors = errors

    def as_json(self) -> list[dict[str, Any]]:
        return self.errors


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    """A slot or resource was taken, usually by someone booking at the same instant."""

    status = 409
    code = "slot_taken"

    def __init__(
        self,
        message: str,
        *,
        violations: list[Violation] | None = None,
        affected: list[int] | None = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.violations = violations or []
        self.affected = affected or []
        self.replan: Sequence[Any] = ()

    def as_json(self) -> list[dict[str, Any]]:
        if self.violations:
            return [v.as_json() for v in self.violations]
        return super().as_json()


class RuleViolation(ServiceError):
    """A booking breaks one or more rules of DOMAIN.md; each violation keeps its code."""

    status = 422
    code = "rule_violation"

    def __init__(self, violations: list[Violation], *, affected: list[int] | None = None) -> None:
        super().__init__(" ".join(v.message for v in violations))
        self.violations = violations
        self.affected = affected or []
        # A proposal for the sessions a change would break (see booking.move_appointment).
        self.replan: Sequence[Any] = ()

    def as_json(self) -> list[dict[str, Any]]:
        return [v.as_json() for v in self.violations]


class AlreadyEnrolled(RuleViolation):
    """Rule 12: the client already holds an enrolment of the course with sessions to come."""

    def __init__(self, violation: Violation, *, enrolment_id: int, client_id: int) -> None:
        super().__init__([violation])
        self.enrolment_id = enrolment_id
        self.client_id = client_id

    def as_json(self) -> list[dict[str, Any]]:
        return [v.as_json() | {"enrolment": self.enrolment_id} for v in self.violations]


def refusal(
    violations: Sequence[Violation], affected: Sequence[int] = ()
) -> RuleViolation | Conflict:
    if violations and all(v.conflict for v in violations):
        return Conflict(violations[0].message, violations=list(violations), affected=list(affected))
    return RuleViolation(list(violations), affected=list(affected))

"""One decorator declares an endpoint: it validates the request with the route's schemas and
records them, so that the OpenAPI document is generated from what is actually enforced."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import g, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ValidationError

from clinic.api.schemas import DATE_CODES, MAX_ID, OWN_CODES
from clinic.services.core.actors import Actor
from clinic.services.core.errors import NotFound, ServiceError
from clinic.services.people.tokens import Unauthorized, actor_for_token


class BadRequest(ServiceError):
    """A body or query that does not match the schema: every problem with its field."""

    status = 400
    code = "invalid_request"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "Bad request.")
        self.errors = errors
        # Well-formed dates the clinic does not book or show: its policy, like rule 10.
        if errors and all(e["code"] in DATE_CODES for e in errors):
            self.status = 422

    def as_json(self) -> list[dict[str, Any]]:
        return self.errors


@dataclass
class Endpoint:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    # False: the body may be left out (an empty body reads as `{}`), as on a DELETE.
    body_required: bool = True
    # A multipart/form-data body (an upload): its fields and files, checked by this model.
    form: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    auth: bool = True
    errors: tuple[int, ...] = ()
    content_type: str = "application/json"
    path_params: list[str] = field(default_factory=list)


ENDPOINTS: list[Endpoint] = []


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p != "__root__") or "body"


def _errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for e in exc.errors(include_url=False):
        name = prefix + _field(e["loc"])
        if e["type"] in OWN_CODES:
            # The schemas' own checks speak in sentences, with a code of their own.
            out.append({"code": e["type"], "message": e["msg"], "field": name})
        else:
            out.append({"code": "invalid_field", "message": f"{name}: {e['msg']}", "field": name})
    return out


def parse_body(model: type[BaseModel], required: bool = True) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw and not required:
        return model.model_validate({})
    if not raw:
        raise BadRequest(
            [{"code": "malformed_json", "message": "A JSON body is required.", "field": "body"}]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest(
                [
                    {
                        "code": "malformed_json",
                        "message": "The body is not valid JSON.",
                        "field": "body",
                    }
                ]
            ) from None
        raise BadRequest(_errors(exc)) from None


def parse_form(model: type[BaseModel]) -> BaseModel:
    """A multipart form: its fields as text, its files as bytes."""
    values: dict[str, Any] = dict(request.form.items())
    for name, upload in request.files.items():
        values[name] = upload.read()
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(_errors(exc)) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for key in request.args:
        items = request.args.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(_errors(exc)) from None


P = ParamSpec("P")
R = TypeVar("R", bound=ResponseReturnValue)


def endpoint(
    method: str, path: str, summary: str, **options: Any
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare an endpoint under /api/v1. `path` uses Flask syntax (`/appointments/<int:id>`)."""
    spec = Endpoint(method=method, path=path, summary=summary, **options)
    spec.path_params = re.findall(r"<(?:\w+:)?(\w+)>", path)
    ENDPOINTS.append(spec)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if any(isinstance(v, int) and v > MAX_ID for v in kwargs.values()):
                raise NotFound("There is no such record.")
            if spec.auth:
                g.actor = _authenticate()
            if spec.body is not None:
                g.body = parse_body(spec.body, spec.body_required)
            if spec.form is not None:
                g.body = parse_form(spec.form)
            if spec.query is not None:
                g.query = parse_query(spec.query)
            return view(*args, **kwargs)

        from clinic.api import bp

        bp.add_url_rule(path, endpoint=view.__name__, view_func=wrapped, methods=[method])
        return wrapped

    return decorate


def _authenticate() -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Send 'Authorization: Bearer TOKEN'; get a token from POST /api/v1/token."
        )
    return actor_for_token(token.strip())

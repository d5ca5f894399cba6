"""Every route of the app as something a test can request: a URL with sample arguments."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, Rule, UUIDConverter

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Sample values for URL arguments: ids that exist in no table, harmless strings.
NO_SUCH_ID = 999999


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.endpoint}"


def _sample_args(rule: Rule) -> dict[str, object]:
    args: dict[str, object] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            args[name] = NO_SUCH_ID
        elif isinstance(converter, FloatConverter):
            args[name] = 1.5
        elif isinstance(converter, UUIDConverter):
            args[name] = "00000000-0000-0000-0000-000000000000"
        elif isinstance(converter, AnyConverter):
            args[name] = sorted(converter.items)[0]  # type: ignore[attr-defined]
        else:
            args[name] = "sample"
    return args


def all_routes(app: Flask) -> list[Route]:
    """One Route per (rule, method), static files excluded, sorted for stable test ids."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            built = rule.build(_sample_args(rule), append_unknown=False)
            assert built is not None, rule
            url = built[1]
            for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                routes.append(Route(rule.endpoint, method, url))
    return sorted(routes, key=lambda r: (r.url, r.method))

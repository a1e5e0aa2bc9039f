"""devstack.apigw.RouteTable: API Gateway REST resource and method matching."""

from __future__ import annotations

import pytest

from devstack.apigw import RouteTable, is_binary
from devstack.template import ApiRoute


def _table(*routes: tuple[str, str]) -> RouteTable:
    return RouteTable(
        ApiRoute(function=f"F{i}", event="e", api="Api", path=p, method=m) for i, (m, p) in enumerate(routes)
    )


TABLE = _table(
    ("GET", "/v1/health"),
    ("GET", "/v1/tickets/{id}"),
    ("POST", "/v1/tickets"),
    ("ANY", "/v1/admin/{proxy+}"),
    ("GET", "/admin"),
    ("GET", "/admin/{proxy+}"),
    ("GET", "/items/{id}"),
    ("GET", "/items/special"),
    ("GET", "/items/{id}/parts/{part}"),
)


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("GET", "/v1/health", "/v1/health", {}),
        ("GET", "/v1/health/", "/v1/health", {}),
        ("GET", "/v1/tickets/abc", "/v1/tickets/{id}", {"id": "abc"}),
        ("POST", "/v1/tickets", "/v1/tickets", {}),
        ("DELETE", "/v1/admin/tenants/t1/keys", "/v1/admin/{proxy+}", {"proxy": "tenants/t1/keys"}),
        ("GET", "/admin", "/admin", {}),
        ("GET", "/admin/app.js", "/admin/{proxy+}", {"proxy": "app.js"}),
        ("GET", "/items/special", "/items/special", {}),
        ("GET", "/items/7", "/items/{id}", {"id": "7"}),
        ("GET", "/items/7/parts/x", "/items/{id}/parts/{part}", {"id": "7", "part": "x"}),
    ],
)
def test_requests_match_the_most_specific_resource(
    method: str, path: str, resource: str, params: dict[str, str]
) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert match.resource == resource
    assert match.path_parameters == params


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/health"),  # resource exists, method does not
        ("GET", "/v1/tickets"),
        ("GET", "/v1/admin"),  # {proxy+} needs at least one segment
        ("GET", "/v1/tickets/a/b"),  # {id} is one segment
        ("GET", "/nothing"),
        ("GET", "/"),
    ],
)
def test_unknown_routes_and_methods_do_not_match(method: str, path: str) -> None:
    assert TABLE.match(method, path) is None


def test_exact_method_wins_over_any_on_the_same_resource() -> None:
    table = _table(("ANY", "/x"), ("GET", "/x"))
    assert table.match("GET", "/x").route.method == "GET"  # type: ignore[union-attr]
    assert table.match("PATCH", "/x").route.method == "ANY"  # type: ignore[union-attr]


def test_invalid_route_tables_are_refused() -> None:
    with pytest.raises(ValueError):
        _table(("GET", "/x"), ("GET", "/x/"))
    with pytest.raises(ValueError):
        _table(("GET", "/{proxy+}/x"))


@pytest.mark.parametrize(
    ("content_type", "types", "expected"),
    [
        ("image/png", ["image/png"], True),
        ("IMAGE/PNG; charset=binary", ["image/png"], True),
        ("image/jpeg", ["image/*"], True),
        ("text/plain", ["*/*"], True),
        ("application/json", ["image/png", "application/octet-stream"], False),
        (None, ["*/*"], False),
    ],
)
def test_binary_media_type_matching(content_type: str | None, types: list[str], expected: bool) -> None:
    assert is_binary(content_type, types) is expected

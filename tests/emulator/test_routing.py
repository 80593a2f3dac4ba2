"""The route tables and the path-template matcher."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headwater.emulator.hubspot.app import FAMILIES, ROUTER, ROUTES
from headwater.emulator.hubspot.http import Response
from headwater.emulator.hubspot.routing import Ctx, Route, Router


def _nothing(_ctx: Ctx) -> Response:
    return Response(204)


def _example(template: str) -> str:
    """A concrete path for a template: the first choice, ``2026-03`` for dates, ``x1`` otherwise."""

    def fill(m: re.Match[str]) -> str:
        _, _, spec = m.group(1).partition(":")
        if not spec:
            return "x1"
        first = spec.split("|")[0]
        return "2026-03" if first == "YYYY-MM" else first

    return re.sub(r"\{([^}]*)\}", fill, template)


def test_every_route_of_every_family_is_reachable() -> None:
    assert sum(len(f.ROUTES) for f in FAMILIES) == len(ROUTES)
    for route in ROUTES:
        templates = (route.path,) if isinstance(route.path, str) else route.path
        for template in templates:
            for method in route.method.split("|"):
                match = ROUTER.match(method, _example(template))
                assert match is not None, (method, template)
                assert match.route is route, (method, template, match.route.endpoint)


def test_literals_win_over_dates_over_free_captures() -> None:
    router = Router(
        [
            Route("GET", "/a/{x}/c", _nothing, "free"),
            Route("GET", "/a/{v:YYYY-MM}/c", _nothing, "dated"),
            Route("GET", "/a/{v:bb|bbb}/c", _nothing, "choice"),
            Route("GET", "/a/b/c", _nothing, "literal", defaults=(("k", "v"),)),
        ]
    )

    def endpoint(path: str) -> str | None:
        m = router.match("GET", path)
        return None if m is None else m.route.endpoint

    assert endpoint("/a/b/c") == "literal"
    assert router.match("GET", "/a/b/c").args == {"k": "v"}  # type: ignore[union-attr]
    assert endpoint("/a/bb/c") == "choice"
    assert endpoint("/a/2026-03/c") == "dated"
    assert endpoint("/a/anything/c") == "free"
    assert router.match("GET", "/a/2026-03/c").args == {"v": "2026-03"}  # type: ignore[union-attr]
    assert endpoint("/a/b/c/d") is None
    assert router.match("POST", "/a/b/c") is None


def test_a_more_specific_dead_end_falls_back_to_a_capture() -> None:
    router = Router(
        [
            Route("GET", "/lists/search/x", _nothing, "deep"),
            Route("GET", "/lists/{id}", _nothing, "one"),
            Route("GET", "/lists/{id}/members", _nothing, "members"),
        ]
    )
    hit = router.match("GET", "/lists/search/members")
    assert hit is not None
    assert (hit.route.endpoint, hit.args) == ("members", {"id": "search"})
    assert router.match("GET", "//lists///7/").args == {"id": "7"}  # type: ignore[union-attr]


def test_a_path_routed_twice_is_refused_when_the_table_is_built() -> None:
    with pytest.raises(ValueError, match="already routed"):
        Router(
            [
                Route("GET", "/crm/{v:v3|v4}/objects", _nothing, "one"),
                Route("GET|POST", "/crm/v4/objects", _nothing, "two"),
            ]
        )
    with pytest.raises(ValueError, match="literal"):
        Router([Route("GET", "/{x}/objects", _nothing, "bad")])


def test_every_family_has_its_test_module() -> None:
    """The emulator's tests split as its routes do: ``routes/<family>.py`` is tested in
    ``tests/emulator/test_<family>.py``."""
    here = Path(__file__).parent
    families = [m.__name__.rsplit(".", 1)[-1] for m in FAMILIES]
    missing = [f for f in families if not (here / f"test_{f}.py").is_file()]
    assert not missing, f"no tests/emulator/test_<family>.py for {missing}"

"""The request methods against the server's own catalogue (`authnzd
catalogue --json`, from `clients/proto/src/requests.rs`): one method per
request type, each with that request's parameters, required ones without a
default, nullable ones accepting None."""

from __future__ import annotations

import inspect
import json
import subprocess
from dataclasses import dataclass
from functools import cache

import pytest

from authnzd_client import AsyncClient, Client
from authnzd_client._methods import RequestMethods

from .conftest import binary

# The catalogue's JSON types and the annotations that accept them (a float
# parameter takes ints too, as Python's `float` does).
ANNOTATION = {
    "Str": {"str"},
    "Int": {"int", "float"},
    "Float": {"float"},
    "Bool": {"bool"},
    "Dict": {"Mapping[str, Any]"},
    "List": {"Sequence[Any]"},
    "Null": {"None"},
    "Any": {"Any"},
}


@dataclass
class Param:
    name: str
    types: list[str]
    required: bool


@cache
def catalogue() -> dict[str, list[Param]]:
    exe = binary()
    if not exe.exists():
        pytest.fail(f"no authnzd binary at {exe}: build it (cargo build) or set AUTHNZD_BIN")
    out = subprocess.run(
        [str(exe), "catalogue", "--json"], check=True, capture_output=True, text=True
    ).stdout
    return {
        spec["name"]: [Param(p["name"], p["types"], p["required"]) for p in spec["params"]]
        for spec in json.loads(out)
    }


def request_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in vars(RequestMethods).items()
        if inspect.isfunction(fn) and not name.startswith("_")
    }


def test_the_table_is_read() -> None:
    specs = catalogue()
    # authnzerver's 38 and authnzd's own.
    assert len(specs) >= 38
    assert [p.name for p in specs["session-new"]][:2] == ["ip_address", "user_agent"]


def test_one_method_per_request_type() -> None:
    names = {n.replace("-", "_") for n in catalogue()}
    assert set(request_methods()) == names
    for cls in (Client, AsyncClient):
        assert all(callable(getattr(cls, n)) for n in names)


@pytest.mark.parametrize("request_type", sorted(catalogue()))
def test_method_parameters_match(request_type: str) -> None:
    expected = catalogue()[request_type]
    sig = request_methods()[request_type.replace("-", "_")]
    params = {
        p.name: p for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(params) == {p.name for p in expected}
    assert list(sig.parameters)[-1] == "call", "no per-call options"
    for want in expected:
        got = params[want.name]
        assert (got.default is inspect.Parameter.empty) == want.required, want.name
        accepted = {t.strip() for t in str(got.annotation).split(" | ")}
        if not want.required:
            assert got.default is None and "None" in accepted, want.name
        for ty in want.types:
            assert accepted & ANNOTATION[ty], f"{want.name}: {ty} not in {accepted}"
        if want.required and "Null" not in want.types:
            assert "None" not in accepted, f"{want.name} is required and not nullable"

"""Reproducible installs: requirements.lock pins every dependency pyproject.toml names, and is what
`make install` and the image install from."""

from __future__ import annotations

import re
import tomllib

from settings import ROOT

LOCK = ROOT / "requirements.lock"


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[name.lower().replace("_", "-")] = version
    assert not wanted - set(pins), f"add to requirements.lock (make lock): {sorted(wanted - set(pins))}"
    assert "connectdesk" not in pins


def test_make_install_uses_the_lock() -> None:
    assert "pip install --quiet -c requirements.lock" in (ROOT / "Makefile").read_text()


def test_every_dependency_has_an_upper_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unbounded = [
        r for r in [*project["dependencies"], *project["optional-dependencies"]["test"]] if "<" not in r
    ]
    assert not unbounded, f"bound the major version of: {unbounded}"

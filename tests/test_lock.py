"""Reproducible installs: requirements.lock pins every dependency pyproject.toml names, and is what
`make install` and the image install from."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

from settings import ROOT

LOCK = ROOT / "requirements.lock"


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, sha256 hashes)} (pip's format: a pin, then its
    `--hash=sha256:…` continuation lines)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    entry = ""
    for line in [*LOCK.read_text().splitlines(), ""]:
        line = line.split("#", 1)[0].strip()
        if line.endswith("\\"):
            entry += line[:-1] + " "
            continue
        entry += line
        if entry.strip():
            spec, *options = entry.split()
            name, _, version = spec.partition("==")
            assert version, f"not pinned: {spec}"
            pins[_norm(name)] = (version, [o.removeprefix("--hash=sha256:") for o in options])
        entry = ""
    return pins


def test_every_dependency_is_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(_name(r)) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    pins = _pins()
    assert not wanted - set(pins), f"add to requirements.lock (make lock): {sorted(wanted - set(pins))}"
    assert "connectdesk" not in pins


def test_every_pin_carries_the_hashes_pip_verifies() -> None:
    """pip checks a download against the lock's hashes (constraints included), so a tampered or
    re-uploaded file fails the install instead of running."""
    unhashed = [name for name, (_, hashes) in _pins().items() if not hashes]
    assert not unhashed, f"no --hash for: {unhashed} (make lock)"
    for _, hashes in _pins().values():
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), hashes


def test_this_environment_is_exactly_the_locked_set() -> None:
    """What the tests run on came from the lock, at the locked versions: nothing unlocked slipped in
    as a transitive dependency (it would be installed without a hash)."""
    pins = _pins()
    installed = {_norm(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    # the project itself, and what `python -m venv` seeds before the lock is applied
    installed.pop("connectdesk", None)
    installed.pop("setuptools", None)
    unlocked = sorted(set(installed) - set(pins))
    assert not unlocked, f"installed but not in requirements.lock: {unlocked}"
    drifted = {n: (v, pins[n][0]) for n, v in installed.items() if v != pins[n][0]}
    assert not drifted, f"installed version differs from the lock: {drifted}"


def test_make_install_uses_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements.lock" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile


def test_every_dependency_has_an_upper_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unbounded = [
        r for r in [*project["dependencies"], *project["optional-dependencies"]["test"]] if "<" not in r
    ]
    assert not unbounded, f"bound the major version of: {unbounded}"

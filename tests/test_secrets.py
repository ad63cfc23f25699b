"""No usable default secret: the signing keys' rules, the starts that refuse to run without one, and
the dev stack's own key under var/."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.main import create_app
from cli.dev import dev_signing_secret, signing_env
from settings import JwtKey, MissingSecret, Settings, parse_jwt_keys

ROOT = Path(__file__).resolve().parents[1]
STRONG = "Vq3xN8pL2mZr7tK9wY4bC6dF1gH5jS0a"
OTHER = "mP9kR2vX7nQ4tW8yB3cL6zD1fG5hJ0sV"
THIRD = "Hs4dJ7kL0qW3eR6tY9uI2oP5aZ8xC1vB"
OLD_DEFAULT = "dev-only-change-me-in-production-0123456789"


def _no_key(**overrides: str) -> Settings:
    return Settings(jwt_secret="", jwt_keys="", **overrides)  # type: ignore[arg-type]


# ---- the rules ------------------------------------------------------------------------------------


def test_without_a_key_nothing_can_be_signed_and_no_app_is_built() -> None:
    settings = _no_key()  # loading works (migrate and seed need no key)...
    with pytest.raises(MissingSecret, match="Missing setting CONNECTDESK_JWT_SECRET"):
        settings.jwt_keyring  # noqa: B018
    with pytest.raises(MissingSecret):  # ...but no app serves sign-ins with it
        create_app(settings)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("too-short-0123456789", "too short"),
        (OLD_DEFAULT, "published placeholder"),
        ("change-me-in-production-0123456789abcdef", "published placeholder"),
        ("please-CHANGEME-to-something-random-42", "published placeholder"),
        ("ab" * 20, "too few characters"),
    ],
)
def test_a_weak_secret_is_refused_without_echoing_it(secret: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(jwt_secret=secret)  # type: ignore[arg-type]
    assert reason in str(caught.value)
    with pytest.raises(ValidationError):
        Settings(jwt_keys=f"k1:{secret}")  # type: ignore[arg-type]


def test_the_key_list_keeps_its_order_and_the_secret_comes_last_as_default() -> None:
    settings = Settings(jwt_keys=f"2027-01:{STRONG}, 2026-07:{OTHER}", jwt_secret=THIRD)  # type: ignore[arg-type]
    assert [key.kid for key in settings.jwt_keyring] == ["2027-01", "2026-07", "default"]
    assert settings.jwt_keyring[0] == JwtKey("2027-01", STRONG)
    assert STRONG not in repr(settings) and STRONG not in repr(settings.jwt_keyring)
    only = Settings(jwt_keys=f"2027-01:{STRONG}", jwt_secret="")  # type: ignore[arg-type]
    assert [key.kid for key in only.jwt_keyring] == ["2027-01"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"no-colon-{STRONG}", "not kid:secret"),
        (f"bad kid:{STRONG}", "not kid:secret"),
        (f"a:{STRONG},a:{OTHER}", "appears twice"),
        ("a:short", "too short"),
    ],
)
def test_a_malformed_key_list_is_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_jwt_keys(value)


def test_the_secret_and_a_listed_default_key_must_agree() -> None:
    with pytest.raises(ValidationError, match="lists kid 'default'"):
        Settings(jwt_keys=f"default:{OTHER}", jwt_secret=STRONG)  # type: ignore[arg-type]
    same = Settings(jwt_keys=f"new:{OTHER},default:{STRONG}", jwt_secret=STRONG)  # type: ignore[arg-type]
    assert [key.kid for key in same.jwt_keyring] == ["new", "default"]


def test_docker_secrets_are_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "connectdesk_jwt_secret").write_text(STRONG + "\n")  # as /run/secrets/ holds it
    code = (
        "from settings import Settings; from pathlib import Path; "
        f"print(Settings(_secrets_dir=Path({str(tmp_path)!r})).jwt_keyring[0].secret)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=_env_without_key(tmp_path), cwd=ROOT,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == STRONG, result.stderr


# ---- the starts -------------------------------------------------------------------------------------


def _env_without_key(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTDESK_")}
    env["CONNECTDESK_VAR_DIR"] = str(tmp_path)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    output = (result.stderr + result.stdout).strip()
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    return output


def test_connectdesk_api_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    env = _env_without_key(tmp_path) | {"COLUMNS": "400"}
    result = subprocess.run([sys.executable, "-m", "cli", "api"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    line = _one_clear_line(result)
    assert result.returncode == 2
    assert line.startswith("Missing setting CONNECTDESK_JWT_SECRET")


def test_uvicorn_on_the_app_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--port", str(_free_port())]
    result = subprocess.run(args, env=_env_without_key(tmp_path), cwd=ROOT, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert "Missing setting CONNECTDESK_JWT_SECRET" in _one_clear_line(result)


def test_a_weak_secret_is_named_without_its_value(tmp_path: Path) -> None:
    env = _env_without_key(tmp_path) | {"CONNECTDESK_JWT_SECRET": OLD_DEFAULT, "COLUMNS": "400"}
    result = subprocess.run([sys.executable, "-m", "cli", "api"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    line = _one_clear_line(result)
    assert line.startswith("Invalid setting CONNECTDESK_JWT_SECRET: is a published placeholder")
    assert OLD_DEFAULT not in line


def test_the_worker_needs_no_key(tmp_path: Path) -> None:
    env = _env_without_key(tmp_path) | {"CONNECTDESK_TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}"}
    code = "from cli.config import load_settings; import worker; print(load_settings().temporal_address)"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr


# ---- the dev stack's own key ------------------------------------------------------------------------


def test_the_dev_stack_makes_a_private_key_once_and_keeps_it(tmp_path: Path) -> None:
    first = dev_signing_secret(tmp_path)

    path = tmp_path / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert Settings(jwt_secret=first).jwt_keyring[0].secret == first  # type: ignore[arg-type]
    path.chmod(0o644)
    assert dev_signing_secret(tmp_path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert dev_signing_secret(elsewhere) != first  # random, not derived from anything


def test_the_dev_stack_refuses_a_weakened_key_file(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("secret\n")
    with pytest.raises(SystemExit, match="delete the file"):
        dev_signing_secret(tmp_path)


def test_the_dev_stack_uses_configured_keys_when_there_are_some(tmp_path: Path) -> None:
    assert signing_env(Settings(var_dir=tmp_path, jwt_secret=STRONG)) == {}  # type: ignore[arg-type]
    assert not (tmp_path / "jwt_secret").exists()
    made = signing_env(_no_key(var_dir=str(tmp_path)))
    assert made == {"CONNECTDESK_JWT_SECRET": (tmp_path / "jwt_secret").read_text().strip()}

"""Loading settings for the CLI: a wrong value names the variable and how to fix it, in one line each."""

from __future__ import annotations

import socket

import typer
from pydantic import ValidationError
from rich.console import Console

from settings import MissingSecret, Settings, setting_errors

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for line in setting_errors(exc):
            err_console.print(line, style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def require_signing_key(settings: Settings) -> None:
    """Exit with one line naming CONNECTDESK_JWT_SECRET when no signing key is set (every start
    that serves sign-ins except ``connectdesk dev``, which makes one)."""
    try:
        settings.jwt_keyring  # noqa: B018 - raises MissingSecret
    except MissingSecret as exc:
        err_console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def require_free_ports(ports: dict[str, tuple[str, int]]) -> None:
    """Exit with one clear line per busy port, before anything starts."""
    busy = [(name, host, port) for name, (host, port) in ports.items() if port_in_use(host, port)]
    for name, host, port in busy:
        err_console.print(
            f"[red]Port {port} on {host} is already in use[/] ({name}); stop whatever holds it "
            f"or set {name} to a free port."
        )
    if busy:
        raise typer.Exit(2)

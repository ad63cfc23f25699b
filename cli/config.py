"""Loading settings for the CLI: a wrong value names the variable and how to fix it, in one line each."""

from __future__ import annotations

import socket

import typer
from pydantic import ValidationError
from rich.console import Console

from settings import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            err_console.print(
                f"[red]Invalid setting CONNECTDESK_{field.upper()}[/]: {error['msg']} "
                f"(got {error.get('input')!r}). Fix the environment variable or .env and try again."
            )
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

"""Free TCP ports on 127.0.0.1 for tests that start their own servers."""

from __future__ import annotations

import socket

import pytest_socket


def free_port() -> int:
    """Return a port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports_for_module(count: int) -> list[int]:
    """Return free ports from a module-scoped fixture, where sockets are still blocked."""
    pytest_socket.enable_socket()
    try:
        return [free_port() for _ in range(count)]
    finally:
        pytest_socket.disable_socket(allow_unix_socket=True)

"""A free TCP port on loopback, for a server a test starts (the hub's SMTP listener, a hub
process): bound once to learn it, then closed for the server to take.

Never the same port twice in one test process: two calls before either server binds (a hub's
port and its SMTP listener's) could otherwise get the same one from the kernel, and the second
server then fails to start ("address already in use", seen on a busy CI machine)."""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port

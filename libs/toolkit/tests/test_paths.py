"""Free ports for the test servers."""

from __future__ import annotations

import socket
from pathlib import Path

from toolkit.infra.paths import free_port


def test_free_ports_are_distinct_bindable_and_never_ephemeral() -> None:
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert not [port for port in ports if low <= port <= high]  # no outgoing connection can take one
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))

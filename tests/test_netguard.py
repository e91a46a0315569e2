"""The tests' network guard holds: in this process and in every subprocess, TCP, UDP and DNS.

Each case makes one try to reach a documentation address (192.0.2.1, RFC 5737, never routed), checks
that it was refused and recorded, then takes the record back out so this test itself does not fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import qe_netguard

from tests.conftest import NETWORK_CUT, netguard_tries

OUTSIDE = ("192.0.2.1", 53)


def _take_back(before: int, log: Path, offset: int) -> list[str]:
    """The tries recorded since ``before``/``offset``, removed from the session's record."""
    tries = qe_netguard.BLOCKED[before:] + log.read_bytes()[offset:].decode().splitlines()
    del qe_netguard.BLOCKED[before:]
    with log.open("r+b") as fh:
        fh.truncate(offset)
    return tries


@pytest.fixture
def record() -> tuple[int, Path, int]:
    log = Path(os.environ[qe_netguard.LOG_ENV])
    return len(qe_netguard.BLOCKED), log, log.stat().st_size


def test_in_process_tcp_udp_dns_and_asyncio_are_refused_and_recorded(record: tuple[int, Path, int]) -> None:
    tcp = socket.socket()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ConnectionRefusedError):
            tcp.connect(OUTSIDE)
        with pytest.raises(ConnectionRefusedError):
            tcp.connect_ex(OUTSIDE)
        with pytest.raises(ConnectionRefusedError):
            udp.sendto(b"x", OUTSIDE)
        with pytest.raises(ConnectionRefusedError):
            udp.sendto(b"x", 0, OUTSIDE)
        with pytest.raises(ConnectionRefusedError):
            udp.sendmsg([b"x"], [], 0, OUTSIDE)
        with pytest.raises(ConnectionRefusedError):
            udp6.sendto(b"x", ("2001:db8::1", 53, 0, 0))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 443)

        async def via_asyncio() -> None:
            loop = asyncio.get_running_loop()
            s = socket.socket()
            s.setblocking(False)
            try:
                await loop.sock_connect(s, OUTSIDE)
            finally:
                s.close()

        with pytest.raises(ConnectionRefusedError):
            asyncio.run(via_asyncio())
        # loopback still works, for the tests' own servers
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        with socket.create_connection(srv.getsockname(), timeout=10):
            pass
        srv.close()
        udp.sendto(b"x", ("127.0.0.1", 9))
    finally:
        for s in (tcp, udp, udp6):
            s.close()
    tries = _take_back(*record)
    assert len(tries) == 8, tries
    assert sum("send a datagram to" in t for t in tries) == 3 and sum("resolve 'example.com'" in t for t in tries) == 1


def test_every_python_subprocess_is_guarded_and_reports(record: tuple[int, Path, int]) -> None:
    """A child that swallows the error still leaves its try in the session's record."""
    child = (
        "import socket\n"
        "for call in (lambda: socket.socket().connect(('192.0.2.1', 80)),\n"
        "             lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('192.0.2.1', 53)),\n"
        "             lambda: socket.getaddrinfo('pypi.org', 443)):\n"
        "    try:\n"
        "        call()\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["ConnectionRefusedError", "ConnectionRefusedError", "gaierror"]
    tries = _take_back(*record)
    assert len(tries) == 3 and all(t.startswith("pid ") for t in tries), tries
    assert "192.0.2.1', 80" in tries[0] and "datagram" in tries[1] and "pypi.org" in tries[2]


@pytest.mark.skipif(not NETWORK_CUT.startswith("cut"), reason=f"no network namespace here ({NETWORK_CUT})")
def test_the_kernel_cut_holds_for_children_without_the_guard(record: tuple[int, Path, int]) -> None:
    """Without the Python guard (``-S``: no site, no sitecustomize) a child still sees only loopback."""
    child = (
        "import socket\n"
        "print(sorted(n for _, n in socket.if_nameindex()))\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.sendto(b'x', ('192.0.2.1', 53))\n"
        "except OSError as exc:\n"
        "    print(exc.errno)\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", child], capture_output=True, text=True, timeout=120, check=True)
    import errno

    assert out.stdout.split("\n")[:2] == ["['lo']", str(errno.ENETUNREACH)]
    assert _take_back(*record) == [], "the guard was not loaded: nothing recorded"
    assert qe_netguard.interfaces() == ["lo"]


def test_the_guard_is_in_this_session() -> None:
    assert netguard_tries() == [] and socket.socket.connect is qe_netguard._connect

"""The tests' network guard: only loopback, in the test process and in every Python subprocess.

Two layers (see tests/conftest.py):

* :func:`cut_network` moves the test process into a new network namespace whose only interface is
  ``lo`` (up). Every process it starts afterwards inherits it, Python or not (DuckDB's httpfs, curl),
  and servers started by the tests on 127.0.0.1 stay reachable from those children. Anything else
  fails with "network is unreachable" at the kernel.
* :func:`install` wraps the socket calls that reach a peer (``connect``, ``connect_ex``, ``sendto``,
  ``sendmsg`` and ``getaddrinfo``; asyncio's ``sock_connect`` and datagram transports go through
  them) so a try to reach anything but loopback raises *and is recorded*: a product that swallows
  the error still fails the test. This file is also loaded into every Python subprocess through
  ``sitecustomize`` (this directory is on ``PYTHONPATH``); children append what they tried to
  ``$QE_NETGUARD_LOG``, which the test session reads after each test.

Standalone on purpose (standard library only): children import it before anything else.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import threading
from typing import Any

LOG_ENV = "QE_NETGUARD_LOG"
BLOCKED: list[str] = []  # the session's own tries (its subprocesses, forked ones too, write to the log)
_SESSION_PID: int | None = None
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
_INET = (socket.AF_INET, socket.AF_INET6)
_real = {
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
    "sendto": socket.socket.sendto,
    "sendmsg": socket.socket.sendmsg,
    "getaddrinfo": socket.getaddrinfo,
}


def is_local_host(host: Any) -> bool:
    """Loopback, the unspecified address (Linux connects it to loopback) or a local name."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).strip("[]").split("%")[0]
    if text.lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _record(msg: str) -> None:
    if os.getpid() == _SESSION_PID:
        BLOCKED.append(msg)
        return
    path = os.environ.get(LOG_ENV)
    if path:
        try:  # one short line per write: O_APPEND keeps lines of several processes whole
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"pid {os.getpid()}: {msg}\n".encode())
            finally:
                os.close(fd)
        except OSError:
            pass


def _check(sock: socket.socket, address: Any, what: str) -> None:
    if sock.family not in _INET or address is None:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_local_host(host):
        msg = f"test tried to {what} {address!r}: only 127.0.0.1/::1 are allowed"
        _record(msg)
        raise ConnectionRefusedError(errno.ECONNREFUSED, msg)


def _connect(self: socket.socket, address: Any) -> Any:
    _check(self, address, "connect to")
    return _real["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> Any:
    _check(self, address, "connect to")
    return _real["connect_ex"](self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    _check(self, args[-1] if args else None, "send a datagram to")
    return _real["sendto"](self, data, *args)


def _sendmsg(self: socket.socket, buffers: Any, *args: Any) -> Any:
    _check(self, args[2] if len(args) > 2 else None, "send a message to")
    return _real["sendmsg"](self, buffers, *args)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local_host(host):
        msg = f"test tried to resolve {host!r}: only local names are allowed"
        _record(msg)
        raise socket.gaierror(socket.EAI_NONAME, msg)
    return _real["getaddrinfo"](host, *args, **kwargs)


def install(session: bool = False) -> None:
    """Wrap the socket calls (idempotent). The test session keeps its tries in :data:`BLOCKED`;
    any other process appends them to ``$QE_NETGUARD_LOG``."""
    global _SESSION_PID
    if session:
        _SESSION_PID = os.getpid()
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _sendto  # type: ignore[method-assign,assignment]
    socket.socket.sendmsg = _sendmsg  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


# --- the kernel's cut: a network namespace with only loopback --------------------------------
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _unshare(flags: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return 0 if libc.unshare(flags) == 0 else ctypes.get_errno()


def _loopback_up() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, _SIOCGIFFLAGS, struct.pack("16sh14x", b"lo", 0))
        flags = struct.unpack("16sh14x", ifr)[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | _IFF_UP))
    finally:
        s.close()


def cut_network() -> str:
    """Move this process into a new network namespace with only ``lo`` (up). Returns how, or why not.

    As root a plain ``unshare(CLONE_NEWNET)``; otherwise inside a new user namespace that maps the
    current uid and gid onto themselves (needs a single-threaded process: call it first)."""
    err = _unshare(_CLONE_NEWNET)
    how = "network namespace"
    if err in (errno.EPERM, errno.EACCES):
        if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
            return "not cut: unprivileged and the process already runs threads"
        uid, gid = os.getuid(), os.getgid()
        err = _unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
        if err:
            return f"not cut: unshare failed ({os.strerror(err)})"
        try:
            with open("/proc/self/setgroups", "w") as fh:
                fh.write("deny")
            with open("/proc/self/uid_map", "w") as fh:
                fh.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as fh:
                fh.write(f"{gid} {gid} 1")
        except OSError as exc:
            return f"not cut: user namespace maps ({exc})"
        how = "user + network namespace"
    elif err:
        return f"not cut: unshare failed ({os.strerror(err)})"
    try:
        _loopback_up()
    except OSError as exc:  # pragma: no cover - a namespace without a usable lo
        return f"not cut: loopback stays down ({exc})"
    return f"cut: {how}, loopback only"


def interfaces() -> list[str]:
    """The network interfaces this process sees."""
    return sorted(name for _, name in socket.if_nameindex())

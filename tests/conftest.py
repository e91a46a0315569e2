"""Hermetic test harness.

* Prefect state lives in a session temp dir; telemetry is off; one session-scoped
  ``prefect_test_harness`` is started only by tests that ask for it.
* Every test gets its own data root under ``tmp_path``.
* A guard fails any connection to anything but loopback (and refuses DNS look-ups of other hosts).
* ``shared_data`` points at ``../shared/data`` and skips cleanly when it is absent.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("QE_SHARED_DATA") or ROOT.parent / "shared" / "data")  # override for worktrees

# --- environment, before anything imports Prefect ------------------------------------------
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="qe-prefect-"))
for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "QE_HOME", "PREFECT_PROFILE"):
    os.environ.pop(var, None)
os.environ.update(
    {
        "PREFECT_HOME": str(_PREFECT_HOME),
        "PREFECT_PROFILES_PATH": str(_PREFECT_HOME / "profiles.toml"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "MPLBACKEND": "Agg",
        "HOME": os.environ.get("HOME", str(_PREFECT_HOME)),
    }
)

# --- hypothesis: the same examples on every run (CI is reproducible); set
# QE_HYPOTHESIS_PROFILE=explore for fresh random examples when hunting bugs ----------------
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("qe", derandomize=True, database=None)
_hyp_settings.register_profile("explore", derandomize=False, database=None)
_hyp_settings.load_profile(os.environ.get("QE_HYPOTHESIS_PROFILE", "qe"))

# --- network guard ----------------------------------------------------------------------------
_BLOCKED: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "", None}


def _is_local_host(host: Any) -> bool:
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local_host(host):
        msg = f"test tried to connect to {address!r}: only 127.0.0.1/::1 are allowed"
        _BLOCKED.append(msg)
        raise ConnectionRefusedError(msg)


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if not _is_local_host(host):
        msg = f"test tried to resolve {host!r}: only local names are allowed"
        _BLOCKED.append(msg)
        raise socket.gaierror(msg)
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _network_guard() -> Iterator[None]:
    """Fail the test if it (or anything it started) tried to reach a non-loopback host."""
    start = len(_BLOCKED)
    yield
    new = _BLOCKED[start:]
    if new:
        pytest.fail("network guard: " + "; ".join(new[:3]))


@pytest.fixture(autouse=True)
def _close_lake_instances() -> Iterator[None]:
    """Each test's lakes live in its own tmp dir: drop their shared DuckDB instances afterwards."""
    yield
    if "warehouse.lake" in sys.modules:
        sys.modules["warehouse.lake"].close_shared_connections()


# --- data roots -----------------------------------------------------------------------------
@pytest.fixture
def qe_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data root, also exported as QE_HOME for CLI calls."""
    home = tmp_path / "qe-home"
    home.mkdir()
    monkeypatch.setenv("QE_HOME", str(home))
    return home


@pytest.fixture
def settings(qe_home: Path) -> Any:
    from expedition.settings import load_settings

    return load_settings(qe_home)


@pytest.fixture
def lake(settings: Any) -> Any:
    """An initialised, empty lake in the test's data root."""
    from warehouse.lake import Lake

    lk = Lake.from_settings(settings)
    lk.init()
    return lk


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (fresh clone): real-data test skipped")
    return SHARED_DATA


# --- Prefect ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness for the whole session, heartbeat off (see stack notes)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=90):
            yield


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run the real ``expedition`` command in a subprocess (as a user would)."""
    import subprocess

    exe = Path(sys.executable).parent / "expedition"
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def myanmar(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The 2025 M7.7 Myanmar expedition opened by the shipped policy (tests/briefs_fixtures.py); shared by the
    brief and web-page tests of one session."""
    from tests.briefs_fixtures import myanmar_home

    root = tmp_path_factory.mktemp("myanmar")
    return myanmar_home(shared_data, root / "home", root / "cache")

"""Hermetic test harness.

* Prefect state lives in a session temp dir; telemetry is off; one session-scoped
  ``prefect_test_harness`` is started only by tests that ask for it.
* Every test gets its own data root under ``tmp_path``.
* The network is cut for real: a namespace with only loopback, and a guard in this process and every
  Python subprocess that fails the test on any try to reach another host (TCP, UDP or DNS).
* ``shared_data`` points at ``../shared/data`` and skips cleanly when it is absent.
* The ``expedition`` command runs in-process through :func:`invoke_cli` (the ``cli`` fixture), with the
  same exit codes and error lines as the console script; :func:`run_cli` runs the real executable in a
  subprocess for the few smoke tests that need one.
* Shared fixtures of several files live in plugins (``tests.fdsn_fixtures``, ``tests.api_world``,
  ``tests.survey_support``),
  registered below: test files never import fixtures from each other.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake

pytest_plugins = ("tests.fdsn_fixtures", "tests.api_world", "tests.survey_support", "tests.xdist_schedule")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("QE_SHARED_DATA") or ROOT.parent / "shared" / "data")  # override for worktrees

# --- bytecode: a session starts about a hundred Python processes (xdist workers, CLI smoke tests,
# batch and driver processes, servers); with PYTHONDONTWRITEBYTECODE set and no __pycache__ yet (a
# fresh clone), each of them compiled the project's modules again (about 0.25 s of CPU a process, and
# 3.4 s for each worker's collection with pytest's assertion rewriting). The session writes bytecode as
# Python does by default (into __pycache__, ignored by git), and so do the processes it starts.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

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
        "QE_REFERENCE_CACHE_DIR": str(_PREFECT_HOME / "reference-cache"),  # parsed GeoNames/Natural Earth
        "HOME": os.environ.get("HOME", str(_PREFECT_HOME)),
    }
)

# --- hypothesis: the same examples on every run (CI is reproducible); set
# QE_HYPOTHESIS_PROFILE=explore for fresh random examples when hunting bugs ----------------
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("qe", derandomize=True, database=None)
_hyp_settings.register_profile("explore", derandomize=False, database=None)
_hyp_settings.load_profile(os.environ.get("QE_HYPOTHESIS_PROFILE", "qe"))

# --- network guard (tests/netguard/qe_netguard.py) ------------------------------------------
# 1. the kernel's cut: this process, and every process it starts, lives in a network namespace
#    with only loopback (QE_TEST_NETNS=0 keeps the host's network, for debugging);
# 2. the socket calls that reach a peer (connect, connect_ex, sendto, sendmsg, getaddrinfo) refuse
#    anything but loopback and record the try, here and in every Python subprocess (sitecustomize on
#    PYTHONPATH), so a product that swallows the error still fails the test.
_NETGUARD_DIR = ROOT / "tests" / "netguard"
sys.path.insert(0, str(_NETGUARD_DIR))
import qe_netguard  # noqa: E402

NETWORK_CUT = qe_netguard.cut_network() if os.environ.get("QE_TEST_NETNS", "1") != "0" else "not cut: QE_TEST_NETNS=0"
qe_netguard.install(session=True)
_NETGUARD_LOG = _PREFECT_HOME / "netguard.log"
_NETGUARD_LOG.touch()
os.environ[qe_netguard.LOG_ENV] = str(_NETGUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join([str(_NETGUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])


def pytest_report_header() -> str:
    return f"network: {NETWORK_CUT}; guard in this process and every Python subprocess"


def netguard_tries() -> list[str]:
    """Every try to reach a non-loopback host so far: this process's, then its subprocesses'."""
    return [*qe_netguard.BLOCKED, *_NETGUARD_LOG.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(autouse=True)
def _network_guard() -> Iterator[None]:
    """Fail the test if it (or any process it started) tried to reach a non-loopback host."""
    start = len(qe_netguard.BLOCKED)
    offset = _NETGUARD_LOG.stat().st_size
    yield
    new = qe_netguard.BLOCKED[start:]
    with _NETGUARD_LOG.open("rb") as fh:
        fh.seek(offset)
        new += fh.read().decode(errors="replace").splitlines()
    if new:
        pytest.fail("network guard: " + "; ".join(new[:3]))


@pytest.fixture(scope="session", autouse=True)
def _shared_reference_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The parsed GeoNames/Natural Earth tables: under xdist, one directory for the whole run, shared by
    its workers (in the run's base temp dir, which pytest rotates; files are written atomically), so
    that one parse serves every worker and the processes they start."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "reference-cache"
        os.environ["QE_REFERENCE_CACHE_DIR"] = str(shared)


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
def settings(qe_home: Path) -> Settings:
    """The settings of the test's data root."""
    from expedition.settings import load_settings

    return load_settings(qe_home)


@pytest.fixture
def lake(settings: Settings) -> Lake:
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
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the Prefect harness is marked ``prefect`` (the fast lane leaves them out)."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()) and item.get_closest_marker("prefect") is None:
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness for the whole session, heartbeat off (see stack notes)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=90):
            yield


@dataclass(frozen=True)
class CliResult:
    """What one ``expedition`` command returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    """Run the real ``expedition`` command in a subprocess (as a user would): for smoke tests."""
    import subprocess

    exe = Path(sys.executable).parent / "expedition"
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def invoke_cli(args: list[str], env: dict[str, str] | None = None) -> CliResult:
    """Run ``expedition ARGS`` in this process through the console script's own ``main`` (same exit
    codes, same one-line errors), output captured by Click's runner.

    The process-wide settings a command applies (Arrow's memory pool, the GIL switch interval) are
    put back afterwards, so in-process commands leave the test session as they found it."""
    import pyarrow as pa
    from typer.testing import CliRunner

    from expedition.delivery.cli.main import main

    pool, interval = pa.default_memory_pool(), sys.getswitchinterval()
    runner = CliRunner()
    try:
        with runner.isolation(env=env) as streams:
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = streams[0].getvalue(), streams[1].getvalue()
    finally:
        pa.set_memory_pool(pool)
        sys.setswitchinterval(interval)
    return CliResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """:func:`invoke_cli`: the ``expedition`` command in-process."""
    return invoke_cli


@pytest.fixture(scope="session")
def myanmar(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The 2025 M7.7 Myanmar expedition opened by the shipped policy (tests/briefs_fixtures.py); shared by the
    brief and web-page tests of one session."""
    from tests.briefs_fixtures import myanmar_home

    root = tmp_path_factory.mktemp("myanmar")
    return myanmar_home(shared_data, root / "home", root / "cache")


# --- real servers for the scale-out tests (bench/servers.py) -------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL 15 server on 127.0.0.1 for the session (skips when its binaries are absent)."""
    from bench.servers import postgres_missing
    from bench.servers import postgres_server as start

    why = postgres_missing()
    if why:
        pytest.skip(why)
    with start() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """moto's standalone S3 server on 127.0.0.1 for the session."""
    pytest.importorskip("moto.server", reason="moto[server] (dev extra) is not installed")
    from bench.servers import s3_server as start

    with start() as server:
        yield server


@pytest.fixture(scope="session")
def myanmar_briefs(myanmar: Any) -> dict[tuple[str, str], Any]:
    """The first brief of the Myanmar expedition in HTML and PDF, English and Chinese: one context, one
    version, rendered once per session (``generate_briefs``) and shared by the brief tests."""
    from expedition.outputs.briefs.generate import generate_briefs
    from tests.briefs_fixtures import BRIEF_NOW

    results = generate_briefs(myanmar["lake"], myanmar["settings"], myanmar["exp"], ("html", "pdf"), ("en", "zh"),
                              now=BRIEF_NOW)
    return {(r.fmt, r.lang): r for r in results}

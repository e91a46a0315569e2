"""The process environment Prefect needs, set *before* Prefect is imported.

Prefect reads its settings from the environment when it is first imported, so the command line
calls :func:`prepare_prefect_env` and only then imports a flow module. This module itself never
imports Prefect.

Rules:

* Telemetry is off unless the user chose otherwise: ``DO_NOT_TRACK=1`` (client) and
  ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` (server). With both, Prefect only talks to 127.0.0.1.
* When the user has not configured Prefect (no ``PREFECT_API_URL``, ``PREFECT_HOME`` or
  ``PREFECT_PROFILE`` and no ``~/.prefect/profiles.toml``), Prefect's state goes under the data root
  (``<home>/prefect``) instead of ``~/.prefect``, and a temporary local server (SQLite) is started on
  127.0.0.1 when a flow runs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from expedition.settings import Settings

_USER_CONFIG_VARS = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH")


def prefect_configured() -> bool:
    """True when the user points Prefect somewhere (environment or an existing profile file)."""
    if any(os.environ.get(v) for v in _USER_CONFIG_VARS):
        return True
    return (Path.home() / ".prefect" / "profiles.toml").is_file()


def prefect_home_for(settings: Settings) -> Path:
    """Where Prefect keeps its database and logs when the user has not configured it."""
    return settings.home / "prefect"


def prepare_prefect_env(settings: Settings, force_local: bool = False) -> dict[str, str]:
    """Set the Prefect environment variables for this process; return the ones that were set.

    ``force_local`` always uses a private Prefect home under the data root and ignores a
    configured server (the offline demo)."""
    changed: dict[str, str] = {}

    def put(name: str, value: str, override: bool = False) -> None:
        if override or name not in os.environ:
            os.environ[name] = value
            changed[name] = value

    put("DO_NOT_TRACK", "1")
    put("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if force_local or not prefect_configured():
        home = prefect_home_for(settings)
        home.mkdir(parents=True, exist_ok=True)
        put("PREFECT_HOME", str(home), override=True)
        put("PREFECT_PROFILES_PATH", str(home / "profiles.toml"), override=True)
        if force_local:
            for name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
                os.environ.pop(name, None)
        # Only the temporary server this process starts reads these. Its task-run recorder makes
        # the next flow wait for a backlog (stack notes); that server lives as long as the command,
        # so nobody reads task runs back from it. Flow runs and artifacts are still stored.
        put("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "false")
        put("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    return changed


def configured_api_url() -> str | None:
    """The Prefect API URL the user configured (``PREFECT_API_URL``, else the active profile's), if any."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or Path.home() / ".prefect" / "profiles.toml")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or doc.get("active")
    profile = doc.get("profiles", {}).get(active, {}) if isinstance(active, str) else {}
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(url) if url else None

from __future__ import annotations

from pathlib import Path

import pytest

from expedition.settings import SettingsError, default_home, load_settings


def test_defaults_follow_home(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert s.home == tmp_path
    assert s.catalog_url == f"sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    assert s.data_path.startswith(str(tmp_path / "lake" / "data"))
    assert [p.name for p in s.providers][:2] == ["USGS", "EMSC"]


def test_qe_home_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QE_HOME", str(tmp_path / "x"))
    assert default_home() == tmp_path / "x"
    monkeypatch.delenv("QE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "quake-expedition"


def test_toml_then_env_then_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "qe.toml").write_text(
        'writer_wait_s = 5\nquery_row_limit = 10\n[[providers]]\nname = "LOCAL"\nurl = "http://127.0.0.1:1"\n'
        '[membership]\nextra = 1\n'
    )
    s = load_settings(tmp_path)
    assert s.writer_wait_s == 5.0 and s.query_row_limit == 10
    assert [p.name for p in s.providers] == ["LOCAL"]
    assert s.extra["membership"] == {"extra": 1}
    monkeypatch.setenv("QE_QUERY_ROW_LIMIT", "20")
    assert load_settings(tmp_path).query_row_limit == 20
    assert load_settings(tmp_path, query_row_limit=30).query_row_limit == 30


def test_bad_values_are_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QE_WRITER_WAIT_S", "soon")
    with pytest.raises(SettingsError, match="QE_WRITER_WAIT_S"):
        load_settings(tmp_path)
    monkeypatch.delenv("QE_WRITER_WAIT_S")
    (tmp_path / "qe.toml").write_text("this is = not toml =")
    with pytest.raises(SettingsError, match="qe.toml"):
        load_settings(tmp_path)


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ['HOME']=sys.argv[1];"
        "import catalogs, expedition, warehouse, expedition.settings, warehouse.lake, expedition.delivery.cli.main;"
        "print(sorted(os.listdir(sys.argv[1])))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_switches_and_the_memory_pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pyarrow as pa

    from expedition.process import configure_process, select_memory_pool

    monkeypatch.setenv("QE_BULK_APPEND", "off")
    assert load_settings(tmp_path).bulk_append is False
    monkeypatch.setenv("QE_BULK_APPEND", "maybe")
    with pytest.raises(SettingsError, match="QE_BULK_APPEND"):
        load_settings(tmp_path)
    monkeypatch.delenv("QE_BULK_APPEND")
    before = pa.default_memory_pool()
    try:
        monkeypatch.setenv("QE_ARROW_MEMORY_POOL", "gold")
        with pytest.raises(SettingsError, match="arrow_memory_pool must be one of"):
            configure_process(load_settings(tmp_path))
        assert select_memory_pool("system") == "system" and pa.default_memory_pool().backend_name == "system"
        assert select_memory_pool("arrow-default") == "system"  # left as it is
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
        assert select_memory_pool("auto") == "system"  # Arrow's own variable is respected
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
        assert select_memory_pool("auto") in ("jemalloc", "system")
    finally:
        pa.set_memory_pool(before)


def test_a_relative_home_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings("qe").home == tmp_path / "qe"
    monkeypatch.setenv("QE_HOME", "other")
    assert load_settings().home == tmp_path / "other"

from __future__ import annotations

from pathlib import Path

from warehouse.archive import archive_bytes, archive_file, safe_name


def test_archive_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    a1 = archive_file(tmp_path / "raw", src)
    a2 = archive_file(tmp_path / "raw", src)
    assert a1 == a2 and a1.path.read_text() == "a,b\n1,2\n"
    assert a1.path.parent.name == a1.sha256
    b = archive_bytes(tmp_path / "raw", b"a,b\n1,2\n", "other.csv")
    assert b.sha256 == a1.sha256 and b.path.name == "other.csv"
    assert not list((tmp_path / "raw").rglob(".incoming.*"))


def test_safe_name_blocks_traversal() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("") == "unnamed"
    assert safe_name("survey día 1;rm -rf.csv") == "survey_d_a_1_rm_-rf.csv"

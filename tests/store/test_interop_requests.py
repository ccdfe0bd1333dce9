"""Import and export-alignments requests are checked before they are queued."""
from __future__ import annotations

from pathlib import Path

import pytest

from store.errors import RequestError
from store.project import Project
from store.requests.interop import export_alignments_params, import_params
from tui.cli.main import main


def test_an_import_is_one_job_per_path(project: Project, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b.fsa").write_bytes(b"")
    with project.connection() as conn:
        params = import_params(conn, [str(tmp_path / "a"), str(tmp_path / "b.fsa")], " Ann ",
                               str(tmp_path / "a"))
    assert [p["path"] for p in params] == [str(tmp_path / "a"), str(tmp_path / "b.fsa")]
    assert {p["person"] for p in params} == {"Ann"}
    assert {p["source"] for p in params} == {str(tmp_path / "a")}


@pytest.mark.parametrize("paths, person, source, error", [
    (["missing"], None, None, "no such file or folder"),
    (["."], "  ", None, "--as needs a person's name"),
    (["."], None, "7", "no source 7"),
    (["."], None, "missing", r"\(--source\)"),
])
def test_a_bad_import_is_refused(project: Project, paths: list[str], person: str | None,
                                 source: str | None, error: str) -> None:
    with project.connection() as conn, pytest.raises(RequestError, match=error):
        import_params(conn, paths, person, source)


def test_export_alignments_needs_a_source_and_an_fsa_name(project: Project,
                                                         tmp_path: Path) -> None:
    with project.connection() as conn:
        with pytest.raises(RequestError, match="no source 3"):
            export_alignments_params(conn, "3", str(tmp_path / "x.fsa"))
        conn.execute("INSERT INTO sources (path, label, kind, size, mtime_ns, added_at)"
                     " VALUES ('/v.mp4', '', 'video', 1, 1, 0)")
        with pytest.raises(RequestError, match="ends in .fsa"):
            export_alignments_params(conn, "1", str(tmp_path / "x.json"))
        assert export_alignments_params(conn, "1", str(tmp_path / "v_alignments.fsa")) == {
            "source_id": 1, "file": str(tmp_path / "v_alignments.fsa")}


def test_the_command_line_says_what_is_wrong(project: Project, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    assert main(["import", str(project.root), str(tmp_path / "gone"), "--no-worker"]) == 2
    assert "swapdeck import: no such file or folder" in capsys.readouterr().err
    assert main(["export-alignments", str(project.root), "1", "--out", "x.fsa"]) == 2
    assert "no source 1" in capsys.readouterr().err

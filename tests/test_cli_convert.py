"""`swapdeck convert`, `conversions` and `verify` as a person types them, on a real project."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from store import jobs
from store.requests.catalogue import load
from store.jobs import JobStatus
from tests.convert_project import ConvertProject, run_worker
from tests.paths import REPO
from tests.waiting import wait_until
from tui.cli.main import main


def convert(ready: ConvertProject, *args: str) -> int:
    return main(["convert", str(ready.root), "--session", "swap", "--source",
                 str(ready.source_id), *args])


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", "verify", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_convert_help_lists_every_converter_setting(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for group in load().convert.groups:
        assert f"{group.name} settings" in out
        for option in group.options:
            assert option.flag in out
    assert "--preview FRAME" in out and "--overwrite" in out


def test_convert_then_verify_and_list_the_provenance(ready: ConvertProject, tmp_path: Path,
                                                     capsys) -> None:
    out = tmp_path / "swapped.mp4"
    assert convert(ready, "--out", str(out), "--colour", "rct", "--crf", "23",
                   "--no-worker") == 0
    printed = capsys.readouterr().out
    assert f"astro's face is swapped, into {out}" in printed
    run_worker(ready.project)
    with ready.project.connection() as conn:
        [job] = jobs.list_jobs(conn, limit=1)
    assert job.status == JobStatus.DONE, job.error
    assert job.params["settings"] == {"colour": "rct", "crf": 23}

    checked = verify(str(out))
    assert checked.returncode == 0, checked.stderr
    assert "marked as synthetic" in checked.stdout and "session: swap" in checked.stdout
    unmarked = verify(str(ready.video))
    assert unmarked.returncode == 1 and "no swapdeck mark" in unmarked.stdout.lower()
    assert verify(str(tmp_path / "missing.mp4")).returncode == 2

    assert main(["conversions", str(ready.root), "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)["conversions"]
    assert record["output"] == str(out) and record["settings"]["crf"] == 23
    assert record["frames"] == 24 and record["session"] == "swap"


def test_preview_waits_for_its_picture(ready: ConvertProject, tmp_path: Path) -> None:
    picture = tmp_path / "preview.png"
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(
        convert(ready, "--preview", "5", "--out", str(picture), "--no-worker")))
    runner.start()
    with ready.project.connection() as conn:
        wait_until(lambda: jobs.list_jobs(conn, limit=1)[0].kind == "convert_preview",
                   what="the preview job")
    run_worker(ready.project)
    runner.join(60)
    assert codes == [0] and picture.exists()


@pytest.mark.parametrize("args, message", [
    (["--session", "nobody"], "no session"),
    (["--frames", "5-1"], None),
    (["--preview", "3"], "--preview writes a PNG: give its name with --out"),
    (["--preview", "999", "--out", "x.png"], "frame 999 is not in two.mp4"),
    (["--colour", "sepia"], "colour is one of none, avg-color, rct"),
])
def test_bad_requests_are_refused_in_one_line(ready: ConvertProject, capsys, args: list[str],
                                              message: str | None) -> None:
    if args[0] == "--session":
        code = main(["convert", str(ready.root), "--source", "1", *args])
    elif message is None:   # the job checks ranges: it fails and says why
        assert convert(ready, *args, "--no-worker") == 0
        run_worker(ready.project)
        with ready.project.connection() as conn:
            [job] = jobs.list_jobs(conn, limit=1)
        assert job.status == JobStatus.FAILED and "ends before it starts" in job.error
        return
    else:
        try:
            code = convert(ready, *args, "--no-worker")
        except SystemExit as exc:   # argparse refuses a bad choice itself
            code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err


def test_a_source_without_the_persons_face_is_refused(ready: ConvertProject, capsys) -> None:
    # b-to-a swaps bee, who is nowhere in the video
    assert convert(ready, "--direction", "b-to-a", "--no-worker") == 2
    assert (f"two.mp4 (source {ready.source_id}) has no face of bee: convert a source where "
            "bee appears, or name bee's faces in this one on the Faces screen"
            in " ".join(capsys.readouterr().err.split()))
    with ready.project.connection() as conn:
        assert [j for j in jobs.list_jobs(conn) if j.kind == "convert"] == []

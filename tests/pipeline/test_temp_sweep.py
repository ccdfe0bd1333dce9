"""A worker's start removes every temp file an interrupted write left, and nothing else."""
from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.atomic_files import atomic_path
from pipeline.temp_sweep import sweep_temps
from store.project import Project
from store.files.temp_names import temp_path, writer_of
from tests.worker_processes import WorkerProcesses

HOUR_AGO = time.time() - 3600


def write(path: Path, size: int, *, old: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if old:
        os.utime(path, (HOUR_AGO, HOUR_AGO))
    return path


def test_every_writer_names_its_temps_so_the_sweep_knows_them(tmp_path: Path) -> None:
    final = tmp_path / "iter_10-ab12.safetensors"
    with atomic_path(final) as temp:
        assert writer_of(temp.name).pid == os.getpid()
        temp.write_bytes(b"whole")
    video = temp_path(tmp_path / "out.mp4", ".mp4")
    assert video.suffix == ".mp4" and writer_of(video.name).pid == os.getpid()
    muxed = video.with_name(f"{video.stem}-muxed{video.suffix}")
    assert writer_of(muxed.name).pid == os.getpid()
    assert writer_of("iter_10-ab12.safetensors") is None
    assert writer_of(".hidden") is None and writer_of("tmp.png") is None


def test_a_worker_start_sweeps_leftovers_and_says_so(
        project: Project, dead_pid: int, worker_processes: WorkerProcesses) -> None:
    root = project.root
    saves = project.models / "1" / "saves"
    leftovers = [
        write(saves / f".iter_20-cd.safetensors.swapdeck-{dead_pid}-0a1b2c3d.tmp", 4000),
        write(saves / ".tmpk3j_x9q2", 2000, old=True),                 # tempfile's, legacy
        write(saves / f".iter_10-ab.safetensors.{dead_pid}.tmp", 1000),  # atomic_path's, legacy
        write(project.outputs / f".clip.partial-{dead_pid}-ab12.mp4", 500),
        write(project.outputs / f".seq.png.swapdeck-{dead_pid}-77aa" / "000001.png", 300),
        write(project.cache / "tmpa1b2c3d4", 100, old=True),
        write(root / f".export.csv.swapdeck-{dead_pid}-99ff.tmp", 10),
    ]
    kept = [
        write(saves / "iter_10-ab.safetensors", 10),
        write(saves / f".iter_30-ef.safetensors.swapdeck-{os.getpid()}-1234abcd.tmp", 10),
        write(saves / ".tmpzzzzzzzz", 10),                             # a minute not yet passed
        write(project.outputs / "tmpabcdefgh.mp4", 10, old=True),      # a person's, maybe
        write(project.inbox / f".drop.mp4.swapdeck-{dead_pid}-abcd.tmp", 10),  # not walked
        write(root / f"project.db.swapdeck-{dead_pid}-abcd.tmp", 10),  # never project.db*
    ]
    outside = write(root.parent / "outside" / f".x.swapdeck-{dead_pid}-abcd.tmp", 10)
    (project.models / "link").symlink_to(outside.parent, target_is_directory=True)

    result = worker_processes.run(project)
    assert result.returncode == 0, result.stderr
    assert [p for p in leftovers if p.exists()] == []
    assert not leftovers[4].parent.exists()
    assert [p for p in kept if not p.exists()] == [] and outside.exists()
    with project.connection() as conn:
        lines = [row[0] for row in conn.execute(
            "SELECT message FROM events WHERE message LIKE 'removed % temporary file%'")]
    assert lines == ["removed 7 temporary files left by interrupted writes (7.9 kB) from the "
                     "project folder, models/1/saves, outputs, cache"]



def test_a_temp_of_this_process_is_a_leftover_of_an_earlier_one_with_its_pid(
        project: Project) -> None:
    """In a container, a worker often gets the pid its killed predecessor had."""
    mine = write(project.models / "2" / "saves" / f".s.swapdeck-{os.getpid()}-ab.tmp", 64)
    swept = sweep_temps(project)
    assert not mine.exists() and (swept.count, swept.size) == (1, 64)
    assert swept.folders == ("models/2/saves",)

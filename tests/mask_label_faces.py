"""A project with a few real faces: a short clip of the walking astronaut, extracted for real
(aligned crops and landmark masks), for the mask label tests to copy (`prebuilt`)."""
from __future__ import annotations

from pathlib import Path

from store import faces
from store.project import Project
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract
from tests.test_cli_alignments import walking

FRAMES = 3
NAME = "mask-label-faces"


def build(project: Project, folder: Path) -> list[int]:
    """Extract the clip; the ids of its faces."""
    source_id = add(project, write_video(folder / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    with project.connection() as conn:
        return [face.id for face in faces.list_faces(conn, source_id)]

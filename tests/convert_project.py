"""A project ready to convert, built for real: a video of two faces side by side (the
astronaut and a tinted mirror image of her), ingested and extracted every third frame by the
worker, the left face named "astro" (side A), the right one "mirror", a made-up "bee" as side
B, and a tiny session trained until it saved. Tests copy it rather than build it again."""
from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.data import astronaut

from pipeline.train.job import new_session
from pipeline.worker import Worker, WorkerOptions
from store import faces, identities, jobs
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import Project, create_project, open_project
from tests.media import write_video
from tests.pipeline.train.people import seed_person
from tests.pipeline.train.tiny_model import NAME as TINY

FRAMES = 24
SIZE = 512
EVERY_N = 3
FACTS = "facts.json"
TRAIN = {"batch_size": 4, "save_every": 10, "iterations": 20, "mixed_precision": True}


@dataclass(frozen=True)
class ConvertProject:
    root: Path
    video: Path
    source_id: int
    session_id: int

    def copy_to(self, folder: Path) -> ConvertProject:
        """A copy of the project (the video stays shared: nothing writes to it)."""
        shutil.copytree(self.root, folder / "project")
        return ConvertProject(folder / "project", self.video, self.source_id, self.session_id)

    @property
    def project(self) -> Project:
        return open_project(self.root)

    def save_facts(self, path: Path) -> None:
        path.write_text(json.dumps({"root": str(self.root), "video": str(self.video),
                                    "source_id": self.source_id,
                                    "session_id": self.session_id}))

    @classmethod
    def from_facts(cls, path: Path) -> ConvertProject:
        facts = json.loads(path.read_text())
        return cls(Path(facts["root"]), Path(facts["video"]), facts["source_id"],
                   facts["session_id"])


@functools.cache
def _crop() -> np.ndarray:
    return astronaut()[0:256, 120:376]


def two_faces(index: int) -> np.ndarray:
    """Frame `index`: the astronaut on the left, her tinted mirror image on the right, both
    drifting a few pixels as the video goes on."""
    frame = np.full((SIZE, SIZE, 3), 40, np.uint8)
    crop = _crop()
    other = crop[:, ::-1].astype(np.float32)
    other[..., 0] *= 0.7
    other[..., 2] = other[..., 2] * 1.2 + 20
    shift = int(4 * np.sin(index / 4))
    frame[128 + shift:384 + shift, 0:256] = crop
    frame[128 - shift:384 - shift, 256:512] = np.clip(other, 0, 255).astype(np.uint8)
    return frame


def run_worker(project: Project) -> None:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()


def run_job(project: Project, kind: str, params: dict) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, kind, params)
    run_worker(project)
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
    assert job.status == JobStatus.DONE, job.error
    return job


def build(folder: Path) -> ConvertProject:
    """The project in `folder`/project, the video beside it and, in `folder`/facts.json,
    what `load(folder)` needs to find them again (from another test process)."""
    project = create_project(folder / "project")
    video = write_video(folder / "two.mp4", FRAMES, pictures=two_faces, audio=True)
    stat = video.stat()
    ingest = run_job(project, "ingest", {"path": str(video), "label": "",
                                         "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    source_id = ingest.result["source_id"]
    settings = ExtractSettings(every_n=EVERY_N, detector="dlib-hog", aligner="dlib", size=256)
    run_job(project, "extract", {"source_id": source_id, "settings": settings.to_json()})
    with project.connection() as conn:
        found = faces.list_faces(conn, source_id, include_rejected=False)
        left = [f.id for f in found if f.box[2] < SIZE / 2]
        right = [f.id for f in found if f.box[0] > SIZE / 2]
        assert len(left) == len(right) == FRAMES // EVERY_N, (len(left), len(right))
        identities.move_faces(conn, left, "astro")
        identities.set_side(conn, "astro", "A")
        identities.move_faces(conn, right, "mirror")
    seed_person(project, "bee", 12, "B", seed=3)
    with project.connection() as conn:
        session = new_session(conn, "swap", TINY, {}, settings=TRAIN, seed=7)
    run_job(project, "train", {"session_id": session.id})
    built = ConvertProject(project.root, video, source_id, session.id)
    built.save_facts(folder / FACTS)
    return built


def load(folder: Path) -> ConvertProject:
    """The project `build(folder)` made."""
    return ConvertProject.from_facts(folder / FACTS)

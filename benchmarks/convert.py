"""Conversion speed: the convert job against a straightforward serial loop, same model, same
settings, same clip, same process.

- convert job: the real `convert` job (pipeline/convert/job.py) run by an in-process worker:
  frames decoded on one thread, the model on batches of faces, the watermark and the encoder
  on another thread. Timed from the job's start to its end (model loading, the faces' lookup
  and the output's rename included).
- serial loop: what a person would write first: open the video, and for each frame decode it,
  cut the face, run the model on that one face, colour-match, blend, mark and encode it,
  then the next frame; same Swapper, Composer, watermark and writer as the job.

Clip: WDA_KatieHill_000.mp4 (512x512, 200 frames, 25 fps, AAC) of ../shared/testdata,
converted b-to-a (Katie's face replaced by Alexandria's) with a session of the `original`
model trained for a few iterations (speed does not depend on how well it is trained). The
project (both WDA clips extracted and named, as benchmarks/train.py builds it) is built once
in --project and reused. The contenders take turns; the table gives the median frames/s.

    .venv/bin/python benchmarks/convert.py [--rounds 3] [--project DIR]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import torch

from train import PEOPLE, VIDEOS, build_project, run_jobs  # benchmarks/train.py

from pipeline.convert import marking
from pipeline.convert.alignments import targets
from pipeline.convert.compose import Composer
from pipeline.convert.settings import ConvertSettings
from pipeline.convert.swapper import load_swapper
from pipeline.convert.writers import WriterSettings, open_writer, source_timing
from pipeline.extract.frames import upright
from pipeline.train.job import new_session
from store import conversions, identities, sessions, sources
from store.faces import DESCRIPTOR_MODEL
from store.project import Project
from store.views.convert_faces import frame_faces

TARGET = 1.5   # convert job / serial loop
CLIP = "WDA_KatieHill_000.mp4"
SETTINGS = {"direction": "b-to-a"}


def trained_session(project: Project) -> sessions.Session:
    with project.connection() as conn:
        for session in sessions.list_sessions(conn):
            if session.name == "convert-bench" and sessions.checkpoints(conn, session.id):
                return session
        session = new_session(conn, "convert-bench", "original", {}, seed=1, settings={
            "iterations": 2, "save_every": 2, "batch_size": 4})
    run_jobs(project, "train", [{"session_id": session.id}])
    with project.connection() as conn:
        return sessions.get(conn, session.id)


def clip_source(project: Project) -> sources.Source:
    with project.connection() as conn:
        return next(s for s in sources.list_sources(conn) if Path(s.path).name == CLIP)


def convert_job(project: Project, session: sessions.Session, source: sources.Source,
                out: Path) -> float:
    """Frames/s of the real job (run by a worker in this process)."""
    started = time.perf_counter()
    [result] = run_jobs(project, "convert", [{
        "session_id": session.id, "source_id": source.id, "settings": SETTINGS,
        "output": str(out), "overwrite": True}])
    return result["frames"] / (time.perf_counter() - started)


def serial_loop(project: Project, session: sessions.Session, source: sources.Source,
                out: Path) -> float:
    """Frames/s of one frame at a time, start to end like the job."""
    started = time.perf_counter()
    settings = ConvertSettings.from_flat(SETTINGS)
    with project.connection() as conn:
        swapper = load_swapper(conn, project.models, session, "a")
        person = next(p for p in identities.list_identities(conn) if p.id == session.identity_b)
        chosen = targets(frame_faces(conn, source.id), person.id,
                         identities.identity_centres(conn, DESCRIPTOR_MODEL), 0)
        mark = marking.Mark(marking.project_tag(conversions.project_uuid(conn)), session.id)
    composer = Composer(swapper, settings)
    output = settings.output
    frames = 0
    with av.open(source.path) as container, open_writer(
            out, WriterSettings(output.format, output.codec, output.crf, output.preset,
                                output.audio), width=source.width, height=source.height,
            timing=source_timing(Path(source.path)), source=Path(source.path), metadata={},
            png_text={}) as writer:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            image = upright(frame.to_ndarray(format="rgb24"), source.rotation)
            for target in chosen.get(index, []):
                swapped = swapper.swap([composer.input_face(image, target)])
                composer.apply(image, target, swapped.faces[0],
                               swapped.masks[0] if swapped.masks is not None else None)
            writer.write(marking.embed(image, mark), frame.pts)
            frames += 1
        writer.finish()
    return frames / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of each contender")
    parser.add_argument("--project", type=Path,
                        default=Path(tempfile.gettempdir()) / "swapdeck-bench-wda",
                        help="where the WDA project is built once and reused")
    args = parser.parse_args()
    if not all((VIDEOS / clip).exists() for clip, _, _ in PEOPLE):
        raise SystemExit(f"the WDA clips are not in {VIDEOS}: this benchmark needs them")
    project = build_project(args.project)
    session, source = trained_session(project), clip_source(project)
    results: dict[str, list[float]] = {"convert job": [], "serial loop": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            results["convert job"].append(
                convert_job(project, session, source, Path(folder) / "job.mp4"))
            results["serial loop"].append(
                serial_loop(project, session, source, Path(folder) / "serial.mp4"))
            print(f"round {round_ + 1}: " + ", ".join(f"{name} {rates[-1]:.1f} frames/s"
                                                      for name, rates in results.items()))
    job, serial = (statistics.median(results[k]) for k in ("convert job", "serial loop"))
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"\n{source.width}x{source.height}, {source.frame_count} frames, model original, "
          f"{device}")
    print("| contender | frames/s (median) |\n|---|---|")
    print(f"| convert job | {job:.1f} |\n| serial loop (baseline) | {serial:.1f} |")
    print(f"\nratio {job / serial:.2f} (target {TARGET})")
    return 0 if job / serial >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())

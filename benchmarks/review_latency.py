"""Keypress-to-screen latency of the Faces screen on a project with 100,000 faces.

Drives the real app headless (Textual's Pilot) on a real store: 100k faces with real face
thumbnails (the photos of ../shared/testdata/identities, cut square to 96 px JPEGs, as
extraction stores them), clustered by the real clustering. For each key it measures the
time from the keypress to the first screen update (the compositor's output handed to the
driver) that shows the key's effect with every visible tile complete (thumbnail and caption).
Headless, the final encoding into terminal bytes is skipped; everything before it is timed.

Keys come at a person's pace (moves and selections every 120 ms, pages every 300 ms), so the
prefetch of neighbouring pages can work between them, as it does for a person. The named
baseline is cold paging: the thumbnail cache emptied before each page, so every page is read,
decoded and rendered after its keypress, which is what the grid would cost without caching
and prefetch.

    .venv/bin/python benchmarks/review_latency.py [--faces 100000] [--project DIR]
"""
from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.benchmarks_support import labelled_photos  # noqa: E402
from pipeline.curate.cluster import cluster  # noqa: E402
from screens.faces import FacesScreen  # noqa: E402
from store import faces, identities, sources  # noqa: E402
from store.faces import DESCRIPTOR_MODEL, EncodedImage, NewFace  # noqa: E402
from store.project import Project, create_project, open_project  # noqa: E402
from store.sources import FrameRow, MediaFacts  # noqa: E402
from tui.app import SwapdeckApp  # noqa: E402
from screens.widgets.face_grid import FaceGrid  # noqa: E402

BATCH = 2000
PEOPLE = 40
MOVE_GAP_S = 0.12
PAGE_GAP_S = 0.30


def face_thumbnails() -> list[bytes]:
    thumbs = []
    for path, _person in labelled_photos():
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        square = ImageOps.fit(image, (96, 96))
        buffer = io.BytesIO()
        square.save(buffer, "JPEG", quality=90)
        thumbs.append(buffer.getvalue())
    return thumbs


def build_project(root: Path, count: int) -> Project:
    """A project of `count` faces in PEOPLE people, clustered; reused when it is there."""
    if (root / "project.db").exists():
        project = open_project(root)
        with project.connection() as conn:
            if conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == count:
                return project
        raise SystemExit(f"{root} holds another project: remove it or pick another --project")
    project = create_project(root)
    thumbs = face_thumbnails()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(PEOPLE, 128)).astype(np.float32) * 0.1
    who = rng.integers(0, PEOPLE, count)
    vectors = (centres[who] + rng.normal(scale=0.012, size=(count, 128))).astype(np.float32)
    blank = EncodedImage("jpeg", thumbs[0])
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, "/benchmark/review.mp4", "", "video", 1, 1, None)
        sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in range(count)])
        sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 640, 360, 25.0, False,
                                                            count, count / 25, 0, "h264",
                                                            False, None))
        faces.start_extraction(conn, source_id, {}, count, 0)
        frame_ids = [r[0] for r in conn.execute("SELECT id FROM frames ORDER BY idx")]
        for start in range(0, count, BATCH):
            batch = frame_ids[start:start + BATCH]
            new = [NewFace(frame_id, 0, (0, 0, 8, 8), float(rng.uniform(0.5, 1)),
                           np.zeros((68, 2)), np.zeros((2, 3)), float(rng.uniform(0, 300)),
                           float(rng.uniform(-60, 60)), float(rng.uniform(-30, 30)), 0.0,
                           float(rng.uniform(0.05, 0.5)), None, None, blank, 8,
                           EncodedImage("jpeg", thumbs[(start + i) % len(thumbs)]), {}, 8,
                           {DESCRIPTOR_MODEL: vectors[start + i]})
                   for i, frame_id in enumerate(batch)]
            faces.save_frames(conn, source_id, batch, new)
            print(f"  seeded {start + len(batch)} faces", end="\r", flush=True)
        face_ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id")]
        result = cluster(vectors)
        identities.record_run(conn, method="average", threshold=identities.DEFAULT_THRESHOLD,
                              source_ids=[], face_ids=face_ids, labels=result.labels,
                              centres=result.centres, distances=result.distances, names={},
                              job_id=None)
    print(f"built {root}: {count} faces in {len(result.centres)} clusters")
    return project


class Timer:
    """Stamps every screen update with whether the grid was complete and where it stood."""

    def __init__(self, app: SwapdeckApp) -> None:
        self.app = app
        self.stamps: list[tuple[float, bool, tuple]] = []
        display = app._display

        def stamped(screen, renderable) -> None:  # the app's screen-update hook
            display(screen, renderable)
            grid = self.grid
            if grid is not None:
                self.stamps.append((time.perf_counter(), complete(grid), where(grid)))

        app._display = stamped

    @property
    def grid(self) -> FaceGrid | None:
        screen = self.app.screen
        return screen.query_one(FaceGrid) if isinstance(screen, FacesScreen) else None

    async def press(self, pilot, key: str) -> float:
        """Milliseconds from pressing `key` to the first complete screen showing its effect."""
        before = where(self.grid)
        self.stamps.clear()
        start = time.perf_counter()
        await pilot.press(key)
        deadline = start + 10
        while time.perf_counter() < deadline:
            for stamp, done, state in self.stamps:
                if done and state != before:
                    return (stamp - start) * 1000
            await asyncio.sleep(0.0005)
        raise RuntimeError(f"no complete screen within 10 s of pressing {key!r}")


def complete(grid: FaceGrid) -> bool:
    visible = [grid.state.ids[i] for i in grid.state.visible]
    return all(f in grid.listings and f in grid.cache for f in visible)


def where(grid: FaceGrid | None) -> tuple:
    if grid is None:
        return ()
    state = grid.state
    return state.cursor, state.top, len(state.selected), state.anchor


async def measure(project: Project, moves: int, pages: int, selects: int) -> dict:
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    results: dict[str, list[float]] = {"move": [], "page": [], "select": [], "page (cold)": []}
    async with app.run_test(size=(200, 50)) as pilot:
        timer = Timer(app)
        opened = time.perf_counter()
        await app.push_screen(FacesScreen())
        while timer.grid is None or not timer.grid.state.ids or not complete(timer.grid):
            await asyncio.sleep(0.01)
        grid = timer.grid
        print(f"opened the Faces screen on {len(grid.state.ids)} faces in "
              f"{time.perf_counter() - opened:.2f} s ({grid.state.columns} x "
              f"{grid.state.rows} tiles)")
        rng = np.random.default_rng(1)
        for _ in range(moves):
            results["move"].append(await timer.press(pilot, str(rng.choice(list("hjkl")))))
            await asyncio.sleep(MOVE_GAP_S)
        for _ in range(selects):
            results["select"].append(await timer.press(pilot, "space"))
            await timer.press(pilot, "l")
            await asyncio.sleep(MOVE_GAP_S)
        for _ in range(pages):
            results["page"].append(await timer.press(pilot, "pagedown"))
            await asyncio.sleep(PAGE_GAP_S)
        for _ in range(pages):
            grid.cache.clear()
            results["page (cold)"].append(await timer.press(pilot, "pagedown"))
            await asyncio.sleep(PAGE_GAP_S)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000, help="faces in the project")
    parser.add_argument("--project", type=Path, default=Path("/tmp/swapdeck-review-bench"),
                        help="where the benchmark project is built (and reused)")
    parser.add_argument("--moves", type=int, default=300, help="cursor moves to time")
    parser.add_argument("--pages", type=int, default=40, help="page downs to time")
    parser.add_argument("--selects", type=int, default=100, help="selections to time")
    args = parser.parse_args()
    project = build_project(args.project, args.faces)
    results = asyncio.run(measure(project, args.moves, args.pages, args.selects))
    print("\n| action | presses | p50 ms | p95 ms |\n|---|---|---|---|")
    for action, times in results.items():
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"| {action} | {len(times)} | {p50:.1f} | {p95:.1f} |")
    warm = statistics.quantiles(results["page"], n=20)[18]
    cold = statistics.quantiles(results["page (cold)"], n=20)[18]
    print(f"\npaging p95: {warm:.1f} ms with caching and prefetch, {cold:.1f} ms cold "
          f"(baseline): {cold / warm:.1f}x")


if __name__ == "__main__":
    main()

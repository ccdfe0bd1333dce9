"""Frame-step latency of the Alignments screen on a 1080p source (issue 24: under 100 ms p95).

Drives the real app headless (Textual's Pilot) on a real project: crowd.mp4 (1920x1080,
105 frames, many small faces) of ../shared/testdata, extracted by HOG and dlib. For each key
it measures the time from the keypress to the first screen update (the compositor's output
handed to the driver) that shows the new frame with its boxes and points. Headless, the
final encoding into terminal bytes is skipped; the frame is drawn at the size the renderer
shows (half-block by default; --renderer sixel draws it at full cell pixels).

Keys come at a person's pace (every 150 ms; --gap), so the decoding ahead can work between
them. The named baseline is stepping without the cache: it is emptied (and the decoder
closed) before each key, so every frame is sought from its keyframe and decoded after the
keypress, which is what the screen would cost without keeping frames around the current one.

    .venv/bin/python benchmarks/alignments_step.py [--project DIR] [--renderer halfcell]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pipeline.job_kinds  # noqa: E402,F401 - registers every job kind
from pipeline.worker import Worker, WorkerOptions  # noqa: E402
from screens.alignments import AlignmentsScreen  # noqa: E402
from store import jobs, sources  # noqa: E402
from store.project import Project, create_project, open_project  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402
from store.requests.ingest import ingest_params  # noqa: E402
from tui.app import SwapdeckApp, calm_collector  # noqa: E402

CLIP = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos" / "crowd.mp4"


def extracted_project(root: Path) -> Project:
    """The clip added and extracted (reused when `root` holds it already)."""
    if (root / "project.db").exists():
        return open_project(root)
    project = create_project(root)
    with project.connection() as conn:
        jobs.enqueue(conn, "ingest", ingest_params(CLIP, ""))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    settings = ExtractSettings(detector="dlib-hog", aligner="dlib").to_json()
    with project.connection() as conn:
        [source] = sources.list_sources(conn)
        jobs.enqueue(conn, "extract", {"source_id": source.id, "settings": settings})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    return project


class Timer:
    """Stamps every screen update with the frame the Alignments screen shows then."""

    def __init__(self, app: SwapdeckApp) -> None:
        self.app = app
        self.stamps: list[tuple[float, int | None]] = []
        display = app._display

        def stamped(screen, renderable) -> None:  # the app's screen-update hook
            display(screen, renderable)
            self.stamps.append((time.perf_counter(), self.frame))

        app._display = stamped

    @property
    def frame(self) -> int | None:
        screen = self.app.screen
        shown = screen.shown if isinstance(screen, AlignmentsScreen) else None
        return shown.idx if shown is not None else None

    async def press(self, pilot, key: str, expect: int) -> float:
        """Milliseconds from pressing `key` to the first screen showing frame `expect`."""
        self.stamps.clear()
        start = time.perf_counter()
        await pilot.press(key)
        deadline = start + 20
        while time.perf_counter() < deadline:
            for stamp, frame in self.stamps:
                if frame == expect:
                    return (stamp - start) * 1000
            await asyncio.sleep(0.0005)
        raise RuntimeError(f"frame {expect} not shown within 20 s of pressing {key!r}")


async def measure(project: Project, renderer: str, gap: float) -> dict[str, list[float]]:
    app = SwapdeckApp(project, start_worker=False, thumbnails=renderer)
    results: dict[str, list[float]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        timer = Timer(app)
        await app.push_screen(AlignmentsScreen(1))
        while timer.frame is None:
            await asyncio.sleep(0.01)
        screen = app.screen
        assert isinstance(screen, AlignmentsScreen) and screen.nav is not None
        order = [frame.idx for frame in screen.nav.frames]
        # forward to the end, back to the start, forward again without the cache
        for label, key, step, cold in (("next", "right", 1, False),
                                       ("previous", "left", -1, False),
                                       ("next, no cache (baseline)", "right", 1, True)):
            times = results.setdefault(label, [])
            while 0 <= screen.nav.position + step < len(order):
                if cold and screen.cache is not None:
                    screen.cache.close()
                times.append(await timer.press(pilot, key, order[screen.nav.position + step]))
                await asyncio.sleep(gap)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("/tmp/swapdeck-alignments-bench"),
                        help="where the benchmark project is built (and reused)")
    parser.add_argument("--renderer", default="halfcell",
                        choices=["halfcell", "unicode", "sixel", "kitty"],
                        help="the picture renderer the frame is drawn for")
    parser.add_argument("--gap", type=float, default=0.15,
                        help="seconds between keys (a person's pace)")
    parser.add_argument("--default-gc", action="store_true",
                        help="leave Python's garbage collector as it is by default (to see "
                             "what calm_collector gains)")
    args = parser.parse_args()
    if not CLIP.exists():
        sys.exit(f"the test clip is missing: {CLIP}")
    project = extracted_project(args.project)
    if not args.default_gc:
        calm_collector()     # as `swapdeck open` does
    results = asyncio.run(measure(project, args.renderer, args.gap))
    print(f"\nrenderer {args.renderer}, 120x40 cells, a key every {args.gap * 1000:.0f} ms, "
          f"{'default' if args.default_gc else 'calmed'} garbage collector")
    print("| step | keys | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for label, times in results.items():
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"| {label} | {len(times)} | {statistics.median(times):.1f} | {p95:.1f} | "
              f"{max(times):.1f} |")
    warm = statistics.quantiles(results["next"], n=20)[18]
    cold = statistics.quantiles(results["next, no cache (baseline)"], n=20)[18]
    print(f"p95 next frame: {warm:.1f} ms against {cold:.1f} ms without the cache "
          f"({cold / warm:.1f}x)")


if __name__ == "__main__":
    main()

"""Time from launching `swapdeck open` in a terminal to the dashboard's first paint.

Baseline, run in the same command: a bare Textual app (Header, one line of text, Footer)
started the same way. Both run in tmux, as a person over SSH would see them; the time is
taken when the screen first shows the app's marker text. Prints both medians and the ratio.

    .venv/bin/python benchmarks/tui_startup.py [--runs 7]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SESSION = "swapdeck-startup-bench"
BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("bare app ready")
        yield Footer()

Bare().run()
"""


def time_to_paint(command: list[str], marker: str, timeout: float = 30.0) -> float:
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    start = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "140", "-y", "45",
                    *command], check=True)
    try:
        while time.perf_counter() - start < timeout:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION],
                                    capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"{marker!r} never appeared; the screen was:\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="launches of each app (default 7)")
    parser.add_argument("--marker", default="Sources",
                        help="text whose appearance means the dashboard has painted")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed: apt-get install tmux", file=sys.stderr)
        return 2
    swapdeck = str(Path(sys.executable).with_name("swapdeck"))
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench project"
        subprocess.run([swapdeck, "new", str(project)], check=True, capture_output=True)
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_APP)
        try:
            bare, ours = [], []
            for _ in range(args.runs):  # interleaved, so drift in machine load hits both
                bare.append(time_to_paint([sys.executable, str(bare_script)], "bare app ready"))
                ours.append(time_to_paint([swapdeck, "open", str(project)], args.marker))
        finally:
            subprocess.run([swapdeck, "stop", str(project)], capture_output=True)
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    print(f"bare Textual app (baseline): median {bare_median * 1000:.0f} ms to first paint")
    print(f"swapdeck open:               median {ours_median * 1000:.0f} ms to first paint")
    print(f"ratio swapdeck / baseline:   {ours_median / bare_median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

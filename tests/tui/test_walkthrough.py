"""A new user's first swap, by keyboard only, on a real background worker: an empty project,
a short video of two people added, extracted, clustered, the two clusters named and made
sides A and B, a small model trained a few iterations, one frame previewed, the conversion
confirmed and run, and the file it wrote decoded and verified as marked synthetic.

Every user action is a key press; the store is read only to see what the user would see in
the thumbnails (which cluster is whom) and to check the end result."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Select, Static

from pipeline.convert import marking
from pipeline.convert.verify import verify
from screens.convert import ConvertScreen
from screens.dashboard import DashboardScreen
from screens.dialogs.add_media import AddMediaDialog
from screens.dialogs.choose import AskTextDialog
from screens.dialogs.confirm import ConfirmDialog
from screens.extract import ExtractScreen
from screens.faces import FacesScreen
from screens.train import TrainScreen
from screens.widgets.extract_sources import SourcePicker
from screens.widgets.face_grid import FaceGrid
from screens.widgets.faces_sidebar import FacesSidebar
from screens.widgets.path_input import PathInput
from store import conversions, jobs
from store.jobs import JobStatus
from store.project import Project
from tests.media import write_video
from tests.paths import real_media
from tests.tui.open_screens import column, from_dashboard
from tui.app import SwapdeckApp

SIZE = (120, 40)
PEOPLE = ("sheldon", "amy")     # identities/bbt: five 150x150 face crops each
NAMES = tuple(person.title() for person in PEOPLE)
STILLS = 5
FRAMES = len(PEOPLE) * STILLS   # one frame per still: frames 0-4 Sheldon, 5-9 Amy
SIDE = 256                      # the video's side (the smallest crop extraction allows)
MODEL = "lightweight"           # the catalogue's smallest model (the tests' tiny model is
ITERATIONS = 2                  # not registered in the worker process the app starts)
BATCH = 2
JOB_TIMEOUT_S = 60.0            # each job's deadline (each takes seconds on 2 cores)


def two_people_video(path: Path) -> Path:
    """Frames 0-4: Sheldon's five stills, 5-9: Amy's, each grown to 192 px on grey."""
    stills = [np.asarray(Image.open(still).convert("RGB").resize((192, 192)))
              for person in PEOPLE
              for still in sorted(real_media(f"identities/bbt/{person}").glob("*.png"))]
    assert len(stills) == FRAMES, f"expected {STILLS} stills of each of {PEOPLE}"

    def frame(index: int) -> np.ndarray:
        picture = np.full((SIDE, SIDE, 3), 90, np.uint8)
        picture[32:224, 32:224] = stills[index]
        return picture

    return write_video(path, FRAMES, pictures=frame)


def text_of(screen: Widget, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def option_labels(sidebar: FacesSidebar) -> list[str]:
    options = sidebar.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def person_in_cluster(project: Project, cluster_id: int) -> str:
    """Whom the cluster's thumbnails show (what the user sees): its faces' frames."""
    with project.connection() as conn:
        frames = {row[0] for row in conn.execute(
            """SELECT fr.idx FROM cluster_members m JOIN faces f ON f.id = m.face_id
               JOIN frames fr ON fr.id = f.frame_id WHERE m.cluster_id = ?""", (cluster_id,))}
    assert frames in (set(range(STILLS)), set(range(STILLS, FRAMES))), frames
    return NAMES[0] if frames == set(range(STILLS)) else NAMES[1]


async def tab_to(app: SwapdeckApp, pilot: Pilot, widget_id: str, limit: int = 120) -> None:
    """Press tab until the field `widget_id` has the focus, as a user moving down a form."""
    for _ in range(limit):
        if app.focused is not None and app.focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id}")


async def pick(app: SwapdeckApp, pilot: Pilot, widget_id: str, letter: str,
               value: str) -> None:
    """Tab to a list field, open it (enter), type a letter that finds `value`, take it.
    One letter: the list forgets what was typed after 0.7 s, which a busy machine can take
    between keys."""
    await tab_to(app, pilot, widget_id)
    await pilot.press("enter", letter, "enter")
    select = app.screen.query_one(f"#{widget_id}", Select)
    assert select.value == value, f"#{widget_id}: {letter!r} picked {select.value!r}"


async def add_the_video(app: SwapdeckApp, pilot: Pilot, wait_for: Callable, video: Path) -> Widget:
    """The dashboard of an empty project says how to begin; a, the path, enter adds the video."""
    # --- the dashboard of an empty project says how to begin ---------------------------
    dashboard = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                               and app.snapshot and app.screen, what="the dashboard")
    assert "No sources yet: press a" in text_of(dashboard, "#sources .empty")

    # --- add the video: a, its path, enter --------------------------------------------
    await pilot.press("a")
    adding = await wait_for(pilot, lambda: isinstance(app.screen, AddMediaDialog)
                            and app.screen, what="the add dialog")
    path_input = adding.query_one(PathInput)
    await pilot.press(*"two")
    await wait_for(pilot, lambda: video.name in path_input.render_line(0).text,
                   what="the path's completion")
    await pilot.press("tab")                        # takes the completion
    assert path_input.value == video.name
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    sources_table = dashboard.query_one("#sources-table", DataTable)
    await wait_for(pilot, lambda: column(sources_table, "status") == ["ready"],
                   timeout=JOB_TIMEOUT_S, what="the video ingested")
    assert column(sources_table, "name") == ["two_people.mp4"]
    assert f"{SIDE}x{SIDE}, 25 fps, {FRAMES} frames" in column(sources_table, "facts")[0]
    return dashboard


async def extract_it(app: SwapdeckApp, pilot: Pilot, wait_for: Callable) -> None:
    """x, pick the source, dlib and the smallest crop, queue: every frame's face."""
    # --- extract: x, pick the source, the smallest crop, queue ------------------------
    extract = await from_dashboard(app, pilot, wait_for, "x", ExtractScreen)
    picker = extract.query_one(SourcePicker)
    await wait_for(pilot, lambda: column(picker, "state") == ["no"], what="the source")
    await pilot.press("space")
    assert column(picker, "pick") == ["[x]"]
    assert "1 source picked" in text_of(extract, "#problems")
    # dlib on the CPU, even where a GPU would make `auto` pick face-alignment (whose
    # weights may not be here); and the smallest crop
    await pick(app, pilot, "detector", "h", "dlib-hog")
    await pick(app, pilot, "aligner", "d", "dlib")
    await tab_to(app, pilot, "size")
    await pilot.press(*str(SIDE), "ctrl+r")
    extract_jobs = extract.query_one("#jobs-table", DataTable)
    await wait_for(pilot, lambda: column(extract_jobs, "status") in (["done"], ["failed"]),
                   timeout=JOB_TIMEOUT_S, what="the extraction")
    assert column(extract_jobs, "status") == ["done"], column(extract_jobs, "message")
    assert "100%" in column(extract_jobs, "progress")[0]
    await wait_for(pilot, lambda: column(picker, "state")[0].startswith("yes: "),
                   what="the source shown extracted")
    assert f"{FRAMES} faces" in column(picker, "state")[0]
    await pilot.press("escape")


async def cluster_and_name(app: SwapdeckApp, pilot: Pilot, wait_for: Callable, project: Project) -> dict[str, str]:
    """f, c: two clusters of five; each named (n) and made side A or B."""
    # --- cluster: f, c; two clusters of five faces appear -----------------------------
    faces = await from_dashboard(app, pilot, wait_for, "f", FacesScreen)
    sidebar = faces.query_one(FacesSidebar)
    await wait_for(pilot, lambda: option_labels(sidebar) == [f"All faces ({FRAMES})"],
                   what="every face, not clustered yet")
    await pilot.press("c")
    await wait_for(pilot, lambda: len(option_labels(sidebar)) == 3,
                   timeout=JOB_TIMEOUT_S, what="the clusters")
    clusters = [g for g in sidebar.groups if g.kind == "cluster"]
    assert [g.count for g in clusters] == [STILLS, STILLS]

    # --- name both clusters (n) and make them sides A and B ---------------------------
    await pilot.press("tab")
    assert isinstance(app.focused, OptionList)      # the people and clusters list
    grid = faces.query_one(FaceGrid)
    names: dict[str, str] = {}
    for cluster, side in zip(clusters, ("A", "B")):
        await pilot.press("down")                   # the next cluster
        await wait_for(pilot, lambda: sidebar.current.key == cluster.key
                       and len(grid.state.ids) == STILLS, what="the cluster's faces")
        name = person_in_cluster(project, cluster.key)
        names[side] = name
        await pilot.press("n")
        asking = await wait_for(pilot, lambda: isinstance(app.screen, AskTextDialog)
                                and app.screen, what="the name asked for")
        assert asking.title_text == f"Name cluster {cluster.key} as…"
        await pilot.press(*name, "enter")
        await wait_for(pilot, lambda: f"cluster {cluster.key}: {name} ({STILLS})"
                       in option_labels(sidebar), what=f"cluster {cluster.key} named")
        await pilot.press(side)
        await wait_for(pilot, lambda: f"side {side}: {name} ({STILLS})"
                       in option_labels(sidebar), what=f"{name} made side {side}")
    assert sorted(names.values()) == sorted(NAMES)
    await pilot.press("escape")
    return names


async def train_it(app: SwapdeckApp, pilot: Pilot, wait_for: Callable, names: dict[str, str]) -> None:
    """t, the small model, a few iterations, ctrl+r: the status panel follows it to the end."""
    # --- train: t, the small model, a few iterations, ctrl+r --------------------------
    train = await from_dashboard(app, pilot, wait_for, "t", TrainScreen)
    await wait_for(pilot, lambda: (train.query_one("#side-a", Select).value,
                                   train.query_one("#side-b", Select).value)
                   == (names["A"], names["B"]), what="the sides in the form")
    await pick(app, pilot, "model", "l", MODEL)
    await wait_for(pilot, lambda: train.form.model == MODEL, what="the model's options")
    for field, value in (("iterations", ITERATIONS), ("batch size", BATCH)):
        await pilot.press("ctrl+o")                  # go to a setting by its name
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextDialog), what="go to")
        await pilot.press(*field, "enter")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id
                       == f"opt-{field.replace(' ', '_')}", what=f"the {field} field")
        await pilot.press(*str(value))
    await pilot.press("ctrl+o")                      # a name the form lacks: it says so
    await wait_for(pilot, lambda: isinstance(app.screen, AskTextDialog), what="go to")
    await pilot.press(*"no such thing", "enter")
    await wait_for(pilot, lambda: any("no setting 'no such thing'" in str(n.message)
                                      for n in app._notifications), what="the warning")
    assert app.focused is not None and app.focused.id == "opt-batch_size"
    assert "start a new session with these settings" in text_of(train, "#problems")
    await pilot.press("ctrl+r")
    session_name = f"{names['A']}-{names['B']}-{MODEL}"
    await wait_for(pilot, lambda: f"session {session_name}" in text_of(train, "#status"),
                   timeout=JOB_TIMEOUT_S, what="the new session chosen")
    await wait_for(pilot, lambda: f"iteration {ITERATIONS} of {ITERATIONS}" in text_of(
        train, "#status") and "not training" in text_of(train, "#status"),
        timeout=JOB_TIMEOUT_S, what="training to reach its target")
    status = text_of(train, "#status")
    assert f"{MODEL}, A {names['A']} → B {names['B']}" in status
    assert f"last run ended: reached {ITERATIONS} iterations" in status
    assert re.search(r"loss A \d\.\d{4}  B \d\.\d{4}", status)
    await pilot.press("escape")


async def convert_it(app: SwapdeckApp, pilot: Pilot, wait_for: Callable, project: Project, names: dict[str, str]) -> Path:
    """v, a frame previewed with p, then ctrl+s asks first and y converts."""
    # --- convert: v, step a frame, p previews it ---------------------------------------
    convert = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
    await wait_for(pilot, lambda: convert.session_id is not None
                   and convert.source_id is not None, what="the session and the source")
    await pilot.press("right")
    await wait_for(pilot, lambda: convert.form.frame == 1, what="frame 1")
    await pilot.press("p")
    await wait_for(pilot, lambda: "frame 1: 1 face swapped" in text_of(
        convert, "#preview-caption"), timeout=JOB_TIMEOUT_S, what="the preview")
    assert convert.pictures_of is not None

    # --- ctrl+s asks first; y converts ---------------------------------------------------
    await pilot.press("ctrl+s")
    dialog = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog)
                            and app.screen, what="the question before converting")
    assert dialog.title_text == "Convert two_people.mp4?"
    assert (f"Swaps {names['A']}'s face in all {FRAMES} frames of two_people.mp4; "
            f"{STILLS} faces of {names['A']} found in it.") in dialog.body
    written = re.search(r"Writes (.+)\.\n", dialog.body)
    assert written, dialog.body
    output = Path(written.group(1))
    assert output.parent == project.outputs and not output.exists()
    await pilot.press("y")
    await wait_for(pilot, lambda: app.screen is convert, what="the screen again")
    await wait_for(pilot, lambda: re.match(r"(done|failed|cancelled) \(job", text_of(
        convert, "#convert-status")), timeout=JOB_TIMEOUT_S, what="the conversion")
    assert text_of(convert, "#convert-status").startswith("done (job"), text_of(
        convert, "#convert-status")
    return output


def check_the_output(project: Project, output: Path) -> None:
    """The file is whole, every frame decodes, and it is marked synthetic."""
    # --- the file: whole, every frame, marked synthetic ---------------------------------
    with project.connection() as conn:
        [convert_job] = [j for j in jobs.list_jobs(conn) if j.kind == "convert"]
        [record] = conversions.finished(conn)
        tag = marking.project_tag(conversions.project_uuid(conn))
    assert convert_job.status == JobStatus.DONE
    assert convert_job.result["swapped"] == STILLS       # only side A's person is swapped
    assert record.output == str(output) and record.frames == FRAMES
    with av.open(str(output)) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == FRAMES and decoded[0].shape == (SIDE, SIDE, 3)
    report = verify(output)
    assert report.marked and report.marked_by_metadata, report.verdict
    assert report.mark == marking.Mark(tag, convert_job.params["session_id"]), report.verdict


async def test_from_an_empty_project_to_a_verified_swap_by_keys(
        worker_project: Project, tmp_path: Path, wait_for: Callable,
        monkeypatch: pytest.MonkeyPatch) -> None:
    project = worker_project
    video = two_people_video(tmp_path / "two_people.mp4")
    monkeypatch.chdir(tmp_path)     # swapdeck opened where the video is
    app = SwapdeckApp(project, start_worker=True)
    async with app.run_test(size=SIZE) as pilot:
        await add_the_video(app, pilot, wait_for, video)
        await extract_it(app, pilot, wait_for)
        names = await cluster_and_name(app, pilot, wait_for, project)
        await train_it(app, pilot, wait_for, names)
        output = await convert_it(app, pilot, wait_for, project, names)
    check_the_output(project, output)

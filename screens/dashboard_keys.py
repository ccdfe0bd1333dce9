"""The Dashboard's keys (each with an id, to remap it in the config file)."""
from textual.binding import Binding

DASHBOARD_BINDINGS = [
    Binding("r", "release_held", "Release held", id="dashboard.release_held",
            tooltip="Let the worker run the selected held job (queued on another machine "
                    "or before this folder moved): check what it reads and writes first"),
    Binding("d", "cancel_held", "Cancel held", id="dashboard.cancel_held",
            tooltip="Cancel the selected held job: it never runs"),
    Binding("R", "release_all_held", "Release all held", show=False,
            id="dashboard.release_all_held",
            tooltip="Let the worker run every held job listed"),
    Binding("a", "add_media", "Add media", id="dashboard.add_media",
            tooltip="Add a video, an image or a folder of images to the project"),
    Binding("x", "extract", "Extract", id="dashboard.extract",
            tooltip="Open the Extract screen: find, align and describe the faces of sources"),
    Binding("f", "faces", "Faces", id="dashboard.faces",
            tooltip="Open the Faces screen: review faces by person and cluster"),
    Binding("l", "alignments", "Alignments", id="dashboard.alignments",
            tooltip="Open the Alignments screen for the chosen source (the sources table's "
                    "row): fix missed, doubled and misaligned faces frame by frame"),
    Binding("t", "train", "Train", id="dashboard.train",
            tooltip="Open the Train screen: train a model on side A and side B, watch it "
                    "learn, stop or save it"),
    Binding("n", "analysis", "Analysis", id="dashboard.analysis",
            tooltip="Open the Analysis screen: sessions, runs, loss graphs, swap metrics, "
                    "checkpoints and previews; resume, restore, compare, delete"),
    Binding("v", "convert", "Convert", id="dashboard.convert",
            tooltip="Open the Convert screen: swap a face in a video with a trained "
                    "session, previewing one frame before and after"),
    Binding("c", "cancel_job", "Cancel job", id="dashboard.cancel_job",
            tooltip="Cancel the selected job (a running one stops at its next unit of work)"),
    Binding("y", "retry_job", "Retry job", show=False, id="dashboard.retry_job",
            tooltip="Queue the selected failed or cancelled job again, as a new job with "
                    "its settings (what it had done is kept)"),
    Binding("w", "start_worker", "Start worker", id="dashboard.start_worker",
            tooltip="Start a background worker if none is running"),
    Binding("tab", "app.focus_next", "Next panel", show=False, id="dashboard.focus_next",
            tooltip="Move the focus to the next table"),
    Binding("shift+tab", "app.focus_previous", "Previous panel", show=False,
            id="dashboard.focus_previous", tooltip="Move the focus to the previous table"),
    Binding("s", "focus_panel('sources-table')", "Focus sources", show=False,
            id="dashboard.focus_sources", tooltip="Move the focus to the sources table"),
    Binding("j", "focus_panel('jobs-table')", "Focus jobs", show=False,
            id="dashboard.focus_jobs", tooltip="Move the focus to the jobs table"),
    Binding("e", "focus_panel('events')", "Focus events", show=False,
            id="dashboard.focus_events",
            tooltip="Move the focus to the event log to scroll it"),
]

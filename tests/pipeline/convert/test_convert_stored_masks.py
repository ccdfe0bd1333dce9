"""Converting with a mask stored for the source's faces (as face parsing and the occlusion
mask store them), on the real project of tests/convert_project.py."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from store import jobs, sessions, sources
from store.jobs import JobStatus
from store.requests.convert import ConvertRequestError, convert_params, preview_params
from store.schema.connection import write
from tests.convert_project import EVERY_N, FRAMES, ConvertProject, run_worker, two_faces

LEFT = (slice(180, 330), slice(40, 170))     # around the astronaut's face


def store_masks(ready: ConvertProject, kind: str, value: int) -> int:
    """A `kind` mask of `value` everywhere for each face the extraction found; how many."""
    blank = cv2.imencode(".png", np.full((256, 256), value, np.uint8))[1].tobytes()
    with ready.project.connection() as conn, write(conn):
        ids = [r[0] for r in conn.execute("SELECT id FROM faces WHERE source_id = ?",
                                          (ready.source_id,))]
        conn.executemany("INSERT INTO masks VALUES (?, ?, 256, ?)",
                         [(face_id, kind, blank) for face_id in ids])
    return len(ids)


def test_a_stored_mask_is_pasted_and_faces_without_it_get_the_extended_mask(
        ready: ConvertProject, tmp_path: Path) -> None:
    store_masks(ready, "bisenet-face", 0)     # nothing of the face pasted where it is stored
    out = tmp_path / "out.mp4"
    with ready.project.connection() as conn:
        job_id = jobs.enqueue(conn, "convert", {
            "session_id": ready.session_id, "source_id": ready.source_id, "output": str(out),
            "settings": {"mask": "bisenet-face", "mask_and": "components"}})
    run_worker(ready.project)
    with ready.project.connection() as conn:
        job = jobs.get(conn, job_id)
    assert job.status == JobStatus.DONE, job.error
    skipped = FRAMES - FRAMES // EVERY_N       # extracted by the convert job: no stored mask
    assert (f"{skipped} faces had no bisenet-face mask: extended stood in"
            in job.result["message"])
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for index, made in enumerate(frames):
        change = np.abs(made[LEFT].astype(int) - two_faces(index)[LEFT].astype(int)).mean()
        # ~4: the source's own encoding and the watermark; ~15: swapped
        assert (change < 8) == (index % EVERY_N == 0), (index, change)


def test_a_mask_no_face_has_is_refused_naming_those_it_has(ready: ConvertProject) -> None:
    stored = store_masks(ready, "xseg-hands", 255)
    with ready.project.connection() as conn:
        session = sessions.get(conn, ready.session_id)
        source = sources.get(conn, ready.source_id)
        outputs = ready.project.outputs
        for name in ("mask", "mask_and"):
            with pytest.raises(ConvertRequestError) as refused:
                convert_params(conn, outputs, session, source, {name: "xseg-occlusion"})
            assert refused.value.field == name
            assert str(refused.value) == (
                f"no face of two.mp4 (source {source.id}) has a xseg-occlusion mask: choose "
                f"one it has (components, extended, learned, none, xseg-hands ({stored} "
                "faces)), or store xseg-occlusion masks for it first (swapdeck masks apply "
                "PROJECT --model occlusion)")
        with pytest.raises(ConvertRequestError, match=r"has a bisenet-face mask: .* \(swapdeck "
                           r"masks add PROJECT bisenet-face\)"):
            preview_params(conn, session, source, {"mask": "bisenet-face"}, 3)
        with pytest.raises(ConvertRequestError, match="has a auto mask"):
            convert_params(conn, outputs, session, source, {"mask_and": "auto"})
        assert convert_params(conn, outputs, session, source,
                              {"mask": "xseg-hands", "mask_and": "components",
                               "mask_smoothing": 3})

"""What a conversion meets before it is queued, on a real project (tests/convert_project.py):
the person's faces by source (named, or unnamed and theirs by descriptor), the rate earlier
conversions ran at, the frames a range picks, and the request refusing a source without the
person's face."""
from __future__ import annotations

import pytest

from store import conversions, sessions, sources
from store.requests.convert import (ConvertRequestError, convert_params, frames_chosen,
                                    plan_conversion)
from store.training_faces import get_person
from store.views.convert_plan import conversion_rate, person_face_counts
from tests.convert_project import EVERY_N, FRAMES, ConvertProject

FACES = FRAMES // EVERY_N     # astro's faces in the video: one per extracted frame


def identity_named(conn, name: str) -> int:
    return conn.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()[0]


def test_faces_are_counted_by_source_named_or_by_descriptor(ready: ConvertProject) -> None:
    with ready.project.connection() as conn:
        astro, bee = identity_named(conn, "astro"), identity_named(conn, "bee")
        bee_source = next(s.id for s in sources.list_sources(conn) if s.name == "bee.mp4")
        assert person_face_counts(conn, astro) == {ready.source_id: FACES}
        assert person_face_counts(conn, bee) == {bee_source: 12}
        assert person_face_counts(conn, bee, ready.source_id) == {}

        # three of astro's faces unnamed: still hers by their descriptors; one rejected: not
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM faces WHERE identity_id = ? ORDER BY id", (astro,))]
        conn.execute(f"UPDATE faces SET identity_id = NULL WHERE id IN {tuple(ids[:3])}")
        conn.execute("UPDATE faces SET rejected = 'too small' WHERE id = ?", (ids[3],))
        assert person_face_counts(conn, astro) == {ready.source_id: FACES - 1}
        assert person_face_counts(conn, identity_named(conn, "mirror")) == {
            ready.source_id: FACES}


def test_the_rate_is_measured_on_finished_conversions(ready: ConvertProject) -> None:
    with ready.project.connection() as conn:
        assert conversion_rate(conn) is None
        session = sessions.get(conn, ready.session_id)
        for frames, seconds in ((100, 40.0), (1, 0.001), (60, 40.0)):   # (1: a preview)
            record = conversions.start(
                conn, job_id=None, session_id=session.id, session_name=session.name,
                source_id=ready.source_id, source_path="two.mp4", source_sha256="0" * 64,
                checkpoint_iteration=20, model_sha256="0" * 64, settings_used={},
                output=f"/tmp/out{frames}.mp4", mark="m")
            conversions.finish(conn, record, frames, frames)
            conn.execute("UPDATE conversions SET started_at = finished_at - ? WHERE id = ?",
                         (seconds, record))
        assert conversion_rate(conn) == pytest.approx(2.0)
        plan = plan_conversion(conn, ready.project.outputs, session,
                               sources.get(conn, ready.source_id), {"frames": "0-9"})
    assert (plan.frames, plan.faces, plan.rate) == (10, FACES, pytest.approx(2.0))
    assert plan.seconds == pytest.approx(FRAMES / 2.0)   # the unchanged frames are written too
    assert not plan.replaces


@pytest.mark.parametrize("text, count", [
    (None, 24), ("", 24), ("0-9", 10), ("5", 1), ("0-9,5-14", 15), ("20-99", 4),
    ("30-40", 0), ("9-5", None), ("a-b", None),
])
def test_the_frames_a_range_picks(text: str | None, count: int | None) -> None:
    assert frames_chosen(text, 24) == count


def test_a_source_without_the_persons_face_is_refused(ready: ConvertProject) -> None:
    with ready.project.connection() as conn:
        session = sessions.get(conn, ready.session_id)
        video = sources.get(conn, ready.source_id)
        bee = get_person(conn, identity_named(conn, "bee"))
        with pytest.raises(ConvertRequestError) as refused:
            convert_params(conn, ready.project.outputs, session, video,
                           {"direction": "b-to-a"})
        assert str(refused.value) == (
            f"two.mp4 (source {video.id}) has no face of {bee.name}: convert a source where "
            "bee appears, or name bee's faces in this one on the Faces screen")
        with pytest.raises(ConvertRequestError, match="has no face of mirror"):
            conn.execute("UPDATE faces SET rejected = 'gone' WHERE identity_id = ?",
                         (identity_named(conn, "mirror"),))
            convert_params(conn, ready.project.outputs, session, video, {"person": "mirror"})
        assert convert_params(conn, ready.project.outputs, session, video, {})["person"] \
            == "astro"

"""What a resume of a session trains with where no setting is changed: one baseline for the
resume dialog, the Train form and `swapdeck resume` / `session show`.

The train job resumes with the session's stored per-run settings (those of its newest run,
with a swept learning rate applied since) merged with the changes asked for, and fills any
setting the stored ones lack with its default (pipeline/train/settings.py). This is that,
without the changes.
"""
from __future__ import annotations

from store.requests.catalogue import load
from store.sessions import Session


def resume_baseline(session: Session) -> dict[str, object]:
    """Every per-run setting, flat by name, as a resume of `session` trains with it."""
    family = load().train
    stored = family.flatten({}, session.settings)
    return {option.name: stored.get(option.name, option.default)
            for group in family.groups if not group.frozen for option in group.options}

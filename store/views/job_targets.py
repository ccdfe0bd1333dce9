"""What a job will read and write, told from its kind and parameters, for the user to judge.

A job held because it was queued elsewhere (store.origin) names paths that meant something
there; before releasing it the user sees each file or folder it would read or write, with
those outside the project folder marked, and what it would change in the store. Nothing here
touches the files: only the store is read (a source's path, a session's name).
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store import jobs, mask_models, sessions, sources
from store.jobs import Job
from store.origin import origin

UNKNOWN_KIND = "unknown job kind: will not run"
MALFORMED = "its parameters do not say (malformed): it will fail when it runs"


class _WillFail(Exception):
    """The job names a source or session this project lacks: it fails as it starts."""


@dataclass(frozen=True)
class Target:
    """One thing a job reads or writes: a path (exact, as the job holds it) or a part of
    the store; `text` says it for people, names as they are (listings escape them)."""
    text: str
    path: str | None = None
    outside: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "path": self.path, "outside_project": self.outside}


@dataclass(frozen=True)
class JobTargets:
    reads: tuple[Target, ...]
    writes: tuple[Target, ...]
    note: str = ""  # why nothing can be said (UNKNOWN_KIND, MALFORMED, a missing row), or ""

    def summary(self) -> str:
        """One line: `reads A, B; writes C`, or why that cannot be told."""
        parts = [f"{verb} {', '.join(t.text for t in targets)}"
                 for verb, targets in (("reads", self.reads), ("writes", self.writes))
                 if targets]
        return "; ".join([*parts, *([self.note] if self.note else [])])

    def to_json(self) -> dict[str, Any]:
        return {"reads": [t.to_json() for t in self.reads],
                "writes": [t.to_json() for t in self.writes], "note": self.note or None}


@dataclass(frozen=True)
class HeldJob:
    """A job waiting for the user's release: where it was queued and what it would touch."""
    job: Job
    where: str
    targets: JobTargets

    def to_json(self) -> dict[str, Any]:
        return {**self.job.to_json(), "held": True, "queued_at": self.where,
                "targets": self.targets.to_json()}


def held_jobs(conn: sqlite3.Connection, root: Path) -> list[HeldJob]:
    """The held jobs, oldest first, each with where it came from and what it would touch."""
    here = origin(conn)
    return [HeldJob(job, where_queued(job.origin, here), job_targets(conn, root, job))
            for job in jobs.held(conn)]


def where_queued(job_origin: str | None, here: str) -> str:
    """Where a job was queued, against where this project is now, for people."""
    if job_origin is None:
        return "an unknown machine (before swapdeck recorded where jobs were queued)"
    machine, _, folder = job_origin.partition(":")
    here_machine, _, _ = here.partition(":")
    if machine != here_machine:
        host = machine.split("/", 1)[0]
        return f"another machine ({host}), in {folder}"
    return f"this machine, in {folder} (before the project folder moved)"


def job_targets(conn: sqlite3.Connection, root: Path, job: Job) -> JobTargets:
    """What `job` would read and write if it ran."""
    describe = _KINDS.get(job.kind)
    if describe is None:
        return JobTargets((), (), UNKNOWN_KIND)
    if not isinstance(job.params, dict):
        return JobTargets((), (), MALFORMED)
    try:
        reads, writes = describe(_Lookup(conn, root), job.params)
    except (KeyError, TypeError, ValueError, AttributeError):
        return JobTargets((), (), MALFORMED)
    except _WillFail as missing:
        return JobTargets((), (), f"{missing}: it will fail when it runs")
    return JobTargets(tuple(reads), tuple(writes))


def _store(text: str) -> Target:
    return Target(f"{text} (in the store)")


class _Lookup:
    """The project's folder and store, to turn ids into paths and names."""

    def __init__(self, conn: sqlite3.Connection, root: Path) -> None:
        self.conn, self.root = conn, Path(os.path.realpath(root))

    def path(self, raw: object, what: str = "", after: str = "") -> Target:
        """A path a job holds, marked when it leads outside the project (symlinks followed;
        a relative path is taken from the project folder, where the worker runs)."""
        if not isinstance(raw, str) or not raw:
            raise ValueError("no path")
        # an absolute path replaces the root; `~` is taken as the worker would at worst
        real = Path(os.path.realpath(self.root / os.path.expanduser(raw)))
        outside = not (real == self.root or real.is_relative_to(self.root))
        notes = [*(["outside the project"] if outside else []), *([after] if after else [])]
        text = f"{what}{raw}" + (f" ({'; '.join(notes)})" if notes else "")
        return Target(text, raw, outside)

    def source(self, source_id: object) -> Target:
        number = _whole(source_id)
        try:
            source = sources.get(self.conn, number)
        except sources.SourceNotFoundError as exc:
            raise _WillFail(str(exc)) from None
        return self.path(source.path, f"source {number}'s file ")

    def session(self, session_id: object) -> tuple[str, str]:
        """A session's name and its model folder, relative to the project."""
        number = _whole(session_id)
        try:
            name = sessions.get(self.conn, number).name
        except sessions.SessionError as exc:
            raise _WillFail(f"{exc} in this project") from None
        return name, f"models/{number}/"

    def photos(self, params: dict[str, Any]) -> list[Target]:
        return [self.path(p, "reference photo ")
                for p in [*params.get("filter", ()), *params.get("nfilter", ())]]


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not an id: {value!r}")
    return int(value)


def _source_list(ids: object) -> str:
    if not isinstance(ids, list):
        raise ValueError("source_ids is not a list")
    return f"sources {', '.join(str(_whole(i)) for i in ids)}" if ids else "all sources"


Found = tuple[list[Target], list[Target]]


def _ingest(look: _Lookup, params: dict[str, Any]) -> Found:
    return [look.path(params["path"])], [_store("a new source and its frames")]


def _extract(look: _Lookup, params: dict[str, Any]) -> Found:
    number = _whole(params["source_id"])
    settings = params.get("settings", {})
    again = "; those found before are replaced" if params.get("force") else ""
    return ([look.source(number), *look.photos(settings)],
            [Target(f"the faces of source {number} (in the store{again})")])


def _track(look: _Lookup, params: dict[str, Any]) -> Found:
    number = _whole(params["source_id"])
    return ([look.source(number), _store(f"the faces of source {number}")],
            [Target(f"the tracks of source {number}, and faces placed in their gaps (in the "
                    "store)")])


def _align_edit(look: _Lookup, params: dict[str, Any]) -> Found:
    number = _whole(params["source_id"])
    return ([look.source(number)],
            [Target(f"a face placed by hand in frame {_whole(params['frame'])} of source "
                    f"{number} (in the store)")])


def _mask_add(look: _Lookup, params: dict[str, Any]) -> Found:
    chosen = _source_list(params.get("source_ids", []))
    return ([_store(f"the face crops of {chosen}")],
            [_store(f"{params['kind']} masks of their kept faces")])


def _import(look: _Lookup, params: dict[str, Any]) -> Found:
    reads = [look.path(params["path"], "faces from ")]
    source = params.get("source")
    if source is not None:
        reads.append(look.source(source) if str(source).isdigit()
                     else look.path(source, "frames from "))
    return reads, [_store("the imported faces, their people and mask labels, and the "
                          "sources they need")]


def _export_alignments(look: _Lookup, params: dict[str, Any]) -> Found:
    return ([_store(f"the faces of source {_whole(params['source_id'])}")],
            [look.path(params["file"], "", "replaced if it exists")])


def _mask_model(look: _Lookup, model_id: object) -> tuple[str, str]:
    number = _whole(model_id)
    try:
        return mask_models.get(look.conn, number).name, f"models/masks/{number}/"
    except mask_models.MaskModelError as exc:
        raise _WillFail(f"{exc} in this project") from None


def _mask_train(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = _mask_model(look, params["model_id"])
    return ([_store("the labelled faces and their crops"),
             Target(f"mask model {name}'s newest checkpoint in {folder}")],
            [Target(f"mask model {name}'s checkpoint and preview in {folder} and its losses "
                    "in the store")])


def _mask_apply(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = _mask_model(look, params["model_id"])
    chosen = _source_list(params.get("source_ids", []))
    return ([Target(f"mask model {name}'s newest checkpoint in {folder}"),
             _store(f"the face crops of {chosen}")],
            [_store(f"xseg-{name} masks of their kept faces")])


def _cluster(look: _Lookup, params: dict[str, Any]) -> Found:
    chosen = _source_list(params.get("source_ids", []))
    return [_store(f"the face descriptors of {chosen}")], [_store("clusters and people")]


def _histogram(look: _Lookup, params: dict[str, Any]) -> Found:
    return [_store("face thumbnails")], [_store("the colour order of faces")]


def _identity_filter(look: _Lookup, params: dict[str, Any]) -> Found:
    chosen = _source_list(params.get("source_ids", []))
    return ([*look.photos(params), _store(f"the face descriptors of {chosen}")],
            [_store("which faces are dropped")])


def _export(look: _Lookup, params: dict[str, Any]) -> Found:
    files = {"dfl": "DeepFaceLab JPG files in ",
             "faceswap": "faceswap PNG files in "}.get(params.get("format", "png"), "PNG files in ")
    return ([_store("face crops")],
            [look.path(params["folder"], files, "files of the same name are replaced")])


def _train(look: _Lookup, params: dict[str, Any]) -> Found:
    if "new_session" in params:
        new = params["new_session"]
        name = str(new["name"])
        weights = new.get("load_weights")
        reads = [_store("the faces of sides A and B")]
        if weights is not None:
            is_file = "/" in str(weights) or Path(look.root / str(weights)).is_file()
            reads.append(look.path(weights, "weights from ") if is_file
                         else _store(f"weights of session {weights}"))
        return reads, [Target(f"a new session {name}, its checkpoints in models/<its id>/ "
                              "and its losses in the store")]
    name, folder = look.session(params["session_id"])
    return ([Target(f"session {name}'s newest checkpoint in {folder}"),
             _store("the faces of sides A and B")],
            [Target(f"session {name}'s checkpoints and previews in {folder} and its losses "
                    "in the store")])


def _lr_find(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = look.session(params["session_id"])
    writes = [_store(f"a learning-rate sweep of session {name}")]
    if params.get("set_rate"):
        writes.append(_store(f"session {name}'s learning rate"))
    return [Target(f"session {name}'s newest checkpoint in {folder}")], writes


def _convert(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = look.session(params["session_id"])
    overwrite = "replaced if it exists" if params.get("overwrite") else ""
    return ([look.source(params["source_id"]), Target(f"session {name}'s checkpoint in {folder}")],
            [look.path(params["output"], "", overwrite), _store("a conversion record")])


def _convert_preview(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = look.session(params["session_id"])
    writes = [_store(f"a preview of frame {_whole(params['frame'])}")]
    if "out" in params:
        writes.append(look.path(params["out"], "", "replaced if it exists"))
    return ([look.source(params["source_id"]), Target(f"session {name}'s checkpoint in {folder}")],
            writes)


def _export_model(look: _Lookup, params: dict[str, Any]) -> Found:
    name, folder = look.session(params["session_id"])
    iteration = params.get("checkpoint")
    which = ("newest checkpoint" if iteration is None
             else f"checkpoint at iteration {_whole(iteration)}")
    kind = {"onnx": "an ONNX model ", "dfm": "a DeepFaceLive model "}[params["format"]]
    return ([Target(f"session {name}'s {which} in {folder}")],
            [look.path(params["out"], kind, "replaced if it exists")])


_KINDS: dict[str, Callable[[_Lookup, dict[str, Any]], Found]] = {
    "ingest": _ingest,
    "extract": _extract,
    "track": _track,
    "align-edit": _align_edit,
    "mask-add": _mask_add,
    "mask-train": _mask_train,
    "mask-apply": _mask_apply,
    "import": _import,
    "export-alignments": _export_alignments,
    "cluster": _cluster,
    "histogram": _histogram,
    "identity-filter": _identity_filter,
    "export": _export,
    "train": _train,
    "lr_find": _lr_find,
    "convert": _convert,
    "convert_preview": _convert_preview,
    "export-model": _export_model,
}
KNOWN_KINDS = frozenset(_KINDS)

"""The `cluster` job: group the project's faces by identity and record the run.

People named before keep their names: each moves to the new cluster nearest its faces'
mean descriptor (within the threshold; a nearer person wins a contested cluster). Faces
given a person by hand keep that person, and faces merged by hand stay in one cluster.
The faces of one track are clustered as one (their mean), so a person's closed-eye or
turned frames follow their track; faces flagged as probably not faces are left out.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.context import JobContext
from pipeline.curate.cluster import DEFAULT_THRESHOLD, cluster_units, keep_merged
from pipeline.errors import JobError
from pipeline.registry import job_kind
from store import identities
from store.faces import DESCRIPTOR_MODEL

METHODS = ("average",)


def carry_over(previous: dict[int, np.ndarray], centres: np.ndarray,
               threshold: float) -> dict[int, int]:
    """cluster index -> identity id: each person to the nearest free cluster within reach."""
    if not previous or len(centres) == 0:
        return {}
    people = list(previous)
    distances = np.linalg.norm(np.array([previous[p] for p in people])[:, None] - centres[None],
                               axis=2)
    names: dict[int, int] = {}
    for flat in np.argsort(distances, axis=None):
        person, index = divmod(int(flat), len(centres))
        if distances[person, index] >= threshold:
            break
        if index not in names and people[person] not in names.values():
            names[index] = people[person]
    return names


@job_kind("cluster")
def cluster_faces(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    threshold = float(params.get("threshold", DEFAULT_THRESHOLD))
    method = params.get("method", "average")
    source_ids = [int(s) for s in params.get("source_ids", [])]
    if method not in METHODS:
        raise JobError(f"unknown clustering method {method!r} (known: {', '.join(METHODS)})")
    if not 0 < threshold < 2:
        raise JobError(f"--threshold must be between 0 and 2, not {threshold}")
    if (recorded := identities.run_of_job(ctx.conn, ctx.job_id)) is not None:
        return {"message": f"{recorded.faces} faces in {recorded.clusters} clusters (recorded "
                           "before the worker died)", "run_id": recorded.id,
                "clusters": recorded.clusters, "faces": recorded.faces}
    face_ids, vectors = identities.descriptors(ctx.conn, source_ids, DESCRIPTOR_MODEL)
    if not face_ids:
        raise JobError("no faces to cluster: extract some sources first (swapdeck extract)")
    ctx.progress(0, len(face_ids), f"clustering {len(face_ids)} faces", force=True)
    units = identities.track_units(ctx.conn, face_ids)
    result = keep_merged(vectors, cluster_units(vectors, units, threshold),
                         identities.merge_groups(ctx.conn, face_ids))
    ctx.checkpoint()
    names = carry_over(identities.identity_centres(ctx.conn, DESCRIPTOR_MODEL), result.centres,
                       threshold)
    run_id = identities.record_run(
        ctx.conn, method=method, threshold=threshold, source_ids=source_ids, face_ids=face_ids,
        labels=result.labels, centres=result.centres, distances=result.distances, names=names,
        job_id=ctx.job_id)
    count = len(result.centres)
    carried = f", {len(names)} named people carried over" if names else ""
    return {"message": f"{len(face_ids)} faces in {count} clusters{carried}", "run_id": run_id,
            "clusters": count, "faces": len(face_ids)}

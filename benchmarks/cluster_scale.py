"""Clustering time and peak memory at 10k, 30k and 100k faces.

The descriptors are real (the labelled photos of ../shared/testdata/identities), repeated
with a small jitter (as video frames of one look differ) to make up the counts. Each size
runs in a fresh process so its peak memory is its own.

    .venv/bin/python benchmarks/cluster_scale.py [--sizes 10000 30000 100000]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Per dimension; about 0.34 in distance, past the micro-cluster radius, so most faces make
# micro-clusters of their own: the hard case for memory.
JITTER = 0.03


def measure(vectors_file: Path, size: int) -> dict:
    """In a child process: cluster `size` jittered faces; time, peak memory, clusters."""
    from pipeline.curate.cluster import cluster

    real = np.load(vectors_file)
    rng = np.random.default_rng(size)
    picks = rng.integers(0, len(real), size)
    vectors = (real[picks] + rng.normal(scale=JITTER, size=(size, real.shape[1]))).astype(
        np.float32)
    start = time.perf_counter()
    result = cluster(vectors)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    return {"size": size, "seconds": seconds, "peak_gb": peak_gb,
            "clusters": int(result.labels.max() + 1), "people": len(set(picks.tolist()))}


def real_descriptors(target: Path) -> int:
    from benchmarks_support import describe_labelled_photos

    vectors, _ = describe_labelled_photos()
    np.save(target, vectors)
    return len(vectors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 100000],
                        help="numbers of faces to cluster")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), int(args.child[1]))))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        vectors_file = Path(folder) / "real.npy"
        count = real_descriptors(vectors_file)
        print(f"{count} real descriptors, jittered by {JITTER} per dimension")
        print(f"{'faces':>8}{'seconds':>9}{'peak GB':>9}{'clusters':>10}")
        for size in args.sizes:
            child = subprocess.run([sys.executable, __file__, "--child", str(vectors_file),
                                    str(size)], capture_output=True, text=True, check=True)
            row = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{row['size']:>8}{row['seconds']:>9.1f}{row['peak_gb']:>9.2f}"
                  f"{row['clusters']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Published weights fetched on first use and used only when their SHA-256 is the published one.

The download goes to a temp file beside the final one (pipeline.atomic_files) and is moved in
place only once its size and hash are right, so a killed or corrupted download never leaves a
file under the final name. A file already there with another hash is refused, not replaced:
someone put it there, and the error says what to do.
"""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.atomic_files import atomic_path
from pipeline.extract.backends import BackendUnavailableError
from pipeline.extract.weights import PublishedWeights

CHUNK = 1 << 20
TIMEOUT_S = 60


class WeightsError(BackendUnavailableError):
    """The weights are missing and could not be fetched, or are not the published file."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checked_weights(weights: PublishedWeights, *, download: bool = True) -> Path:
    """The path of the weights, downloaded first when missing (and `download`); WeightsError
    when they cannot be had or their SHA-256 is not the published one."""
    path = weights.path
    if not path.is_file():
        if not download:
            raise WeightsError(_how_to_get(weights, "not there"))
        fetch(weights)
    found = sha256_of(path)
    if found != weights.sha256:
        raise WeightsError(f"{path} is not the published {weights.title} (its SHA-256 is "
                           f"{found}, not {weights.sha256}): delete it to download it again "
                           f"from {weights.url}, or put the right file there")
    return path


def fetch(weights: PublishedWeights) -> None:
    """Download the weights to their path, checking size and hash before they land there."""
    try:
        with atomic_path(weights.path) as temp, open(temp, "wb") as out, \
                urllib.request.urlopen(weights.url, timeout=TIMEOUT_S) as response:
            digest, size = hashlib.sha256(), 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > weights.size:
                    raise WeightsError(_how_to_get(weights, "the download is larger than "
                                                            "the published file"))
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            if digest.hexdigest() != weights.sha256:
                raise WeightsError(_how_to_get(weights, f"the download's SHA-256 is "
                                                        f"{digest.hexdigest()}"))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise WeightsError(_how_to_get(weights, f"the download failed ({exc})")) from exc
    except OSError as exc:
        raise WeightsError(f"cannot write {weights.path}: {exc}") from exc


def _how_to_get(weights: PublishedWeights, why: str) -> str:
    # the worker keeps the first 400 characters of a job's error: what to do comes first
    return (f"no {weights.title} at {weights.path}: {why}. Fetch {weights.url} and put it "
            f"there (`swapdeck models` shows its SHA-256, {weights.sha256})")

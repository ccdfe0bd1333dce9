"""The restricted unpickler: hostile pickles (os.system, eval, exec, subprocess, reduce
chains, crafted opcodes, in every protocol, nested in containers), truncated and garbage
bytes, and a few thousand seeded mutations of valid pickles. Nothing runs (canaries: a file
that a payload would create, a flag a payload would set) and every failure is an
UnsafePickleError."""
from __future__ import annotations

import copyreg
import functools
import os
import pickle
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.interop.safe_pickle import UnsafePickleError, safe_loads

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
TRIPPED: list[str] = []


def trip(why: str) -> None:
    """What a payload calls when it runs: the canary flag."""
    TRIPPED.append(why)


class Reduces:
    """Pickles as a call of `target(*args)`: runs it when a plain unpickler loads it."""

    def __init__(self, target, *args) -> None:
        self.target, self.args = target, args

    def __reduce__(self):
        return self.target, self.args


def payloads(canary: Path) -> dict[str, object]:
    """Objects whose pickles would create `canary` or set the flag if they were loaded."""
    touch = f"touch {canary}"
    write = f"open({str(canary)!r}, 'w').write('ran')"
    return {
        "os.system": Reduces(os.system, touch),
        "eval": Reduces(eval, write),
        "exec": Reduces(exec, write),
        "subprocess": Reduces(subprocess.call, ["touch", str(canary)]),
        "partial chain": Reduces(functools.partial(os.system, touch)),
        "flag": Reduces(trip, "reduce"),
        "nested": {"faces": [{"landmarks": [1.0, 2.0], "x": (Reduces(trip, "nested"),)}]},
        "in a set": {frozenset({Reduces(trip, "frozenset")})},
        "numpy object array": np.array([Reduces(trip, "object array")], dtype=object),
    }


CRAFTED = {
    # GLOBAL, REDUCE: os.system('touch CANARY')
    "global os.system": b"cos\nsystem\n(S'touch CANARY'\ntR.",
    # builtins.__import__('os').system via getattr
    "getattr chain": b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n(S'os'\ntRS'system'"
                     b"\ntR(S'touch CANARY'\ntR.",
    # INST: a class instance made by name
    "inst": b"(S'touch CANARY'\nios\nsystem\n.",
    # OBJ with a global class
    "obj": b"(cos\nsystem\nS'touch CANARY'\no.",
    # an allowed name abused: _codecs.encode with another codec
    "codecs rot13": b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.",
    # numpy's ndarray stand-in given to NEWOBJ, a huge empty array asked of _reconstruct
    "newobj ndarray": b"\x80\x02cnumpy\nndarray\nK\x05\x85\x81.",
    "huge reconstruct": b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n"
                        b"(J\x00\x00\x00\x40tC\x01btR.",
    # an object dtype, a structured dtype holding objects
    "object dtype": b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R.",
    "structured with objects": pickle.dumps(np.dtype([("a", "O")]), protocol=2),
    "structured": pickle.dumps(np.zeros(2, [("a", "f4")]), protocol=4),
    # a memo slot far out of sequence (the unpickler would allocate gigabytes for it)
    "memo bomb": b"\x80\x02K\x01r\xff\xff\xff\x7f.",
    "persistent id": b"\x80\x02X\x01\x00\x00\x00xQ.",
    "ext opcode": b"\x80\x02\x83\x0d\xf0.",
}


@pytest.fixture
def canary(tmp_path: Path):
    path = tmp_path / "canary"
    TRIPPED.clear()
    yield path
    assert not path.exists(), "a payload ran: the canary file exists"
    assert TRIPPED == [], f"a payload ran: {TRIPPED}"


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """A plain unpickler runs each of them: the canaries below would see it."""
    canary = tmp_path / "canary"
    for name, payload in payloads(canary).items():
        TRIPPED.clear()
        canary.unlink(missing_ok=True)
        pickle.loads(pickle.dumps(payload))
        assert canary.exists() or TRIPPED, f"{name} did not run"
    TRIPPED.clear()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hostile_pickles_are_refused_naming_what_they_name(canary: Path,
                                                           protocol: int) -> None:
    for name, payload in payloads(canary).items():
        data = pickle.dumps(payload, protocol=protocol)
        with pytest.raises(UnsafePickleError, match="refused") as refused:
            safe_loads(data)
        if name == "os.system":
            assert "posix.system" in str(refused.value) or "os.system" in str(refused.value)


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_opcodes_are_refused(canary: Path, name: str) -> None:
    data = CRAFTED[name].replace(b"CANARY", str(canary).encode())
    with pytest.raises(UnsafePickleError):
        safe_loads(data)


def test_an_extension_code_is_refused_even_when_registered(canary: Path) -> None:
    copyreg.add_extension("tests.pipeline.interop.test_safe_pickle", "trip", 0xF00D)
    try:
        data = pickle.dumps(Reduces(trip, "ext"), protocol=2)
        with pytest.raises(UnsafePickleError, match="EXT2|names"):
            safe_loads(data)
    finally:
        copyreg.remove_extension("tests.pipeline.interop.test_safe_pickle", "trip", 0xF00D)


def plain_data() -> dict[str, object]:
    """What faceswap's and DeepFaceLab's pickles hold: dicts, lists, tuples, bytes, floats,
    NumPy arrays and scalars."""
    landmarks = np.linspace(0, 200, 136, dtype=np.float32).reshape(68, 2)
    return {"landmarks": landmarks.tolist(), "source_rect": (10, 20, 110, 140),
            "image_to_face_mat": np.eye(2, 3), "face_type": "whole_face",
            "seg_ie_polys": {"polys": [{"type": 1, "pts": landmarks[:5]}]},
            "xseg_mask": np.frombuffer(b"\x89PNG fake", np.uint8), "mod": np.float64(1.0),
            "frames": {"clip_000001.png": {"faces": [{"x": np.int64(3), "mask": {},
                                                      "landmarks_xy": landmarks}]}},
            "flags": {True, None}, "raw": bytearray(b"\x00\x01"), "empty": b""}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_data_comes_back_whole(protocol: int) -> None:
    data = plain_data()
    loaded = safe_loads(pickle.dumps(data, protocol=protocol))
    assert loaded.keys() == data.keys()
    np.testing.assert_array_equal(loaded["image_to_face_mat"], np.eye(2, 3))
    np.testing.assert_array_equal(loaded["seg_ie_polys"]["polys"][0]["pts"],
                                  data["seg_ie_polys"]["polys"][0]["pts"])
    assert loaded["frames"]["clip_000001.png"]["faces"][0]["landmarks_xy"].dtype == np.float32
    assert loaded["source_rect"] == (10, 20, 110, 140) and loaded["mod"] == 1.0
    assert loaded["raw"] == bytearray(b"\x00\x01") and loaded["flags"] == {True, None}


def test_numpy_1_names_are_read() -> None:
    data = pickle.dumps(np.arange(3.0), protocol=2).replace(b"numpy._core", b"numpy.core")
    np.testing.assert_array_equal(safe_loads(data), np.arange(3.0))


def test_a_pickle_over_the_size_cap_is_refused_unread() -> None:
    with pytest.raises(UnsafePickleError, match="at most 10 are read"):
        safe_loads(pickle.dumps(list(range(100))), max_bytes=10)


def test_truncated_and_garbage_bytes_fail_plainly(canary: Path) -> None:
    valid = pickle.dumps(plain_data(), protocol=4)
    rng = random.Random(7)
    for cut in [0, 1, 2, 10, len(valid) // 2, len(valid) - 1]:
        with pytest.raises(UnsafePickleError):
            safe_loads(valid[:cut])
    for _ in range(200):
        with pytest.raises(UnsafePickleError):
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            safe_loads(noise + b"\xff")


# Bytes spliced in by the mutator: opcodes that call, build or name things.
SPLICES = [b"R", b"b", b"\x81", b"\x93", b"o", b"i", b"cos\nsystem\n", b"c__builtin__\neval\n",
           b"\x8c\x02os\x8c\x06system\x93", b"r\xff\xff\xff\x7f", b"j\xff\xff\xff\x7f",
           b"\x95\xff\xff\xff\xff\xff\xff\xff\x7f", b"(", b"t", b"0", b"2"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        choice = rng.random()
        if choice < 0.35:
            out[at] = rng.randrange(256)
        elif choice < 0.6:
            out[at:at] = rng.choice(SPLICES)
        elif choice < 0.8:
            del out[at:at + rng.randint(1, 8)]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    return bytes(out)


def test_mutated_pickles_give_plain_data_or_our_error(canary: Path) -> None:
    seeds = [pickle.dumps(plain_data(), protocol=p) for p in PROTOCOLS]
    seeds += [pickle.dumps(payloads(canary)["flag"], protocol=p) for p in PROTOCOLS]
    rng = random.Random(2024)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(3000):
        data = mutate(rng.choice(seeds), rng)
        try:
            safe_loads(data)
        except UnsafePickleError:
            outcomes["refused"] += 1
        else:
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 1000 and outcomes["loaded"] > 0

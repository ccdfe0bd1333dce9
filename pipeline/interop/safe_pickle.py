"""A pickle reader that builds data, never runs code: faceswap's `.fsa` alignments and
DeepFaceLab's APP15 face data are pickles, and an imported file is untrusted input.

Only plain containers (dict, list, tuple, set), numbers, strings, bytes and NumPy arrays of
numbers, booleans or text come out. The opcodes are read once before anything runs: those
that make objects of classes (INST, OBJ, NEWOBJ) or reach outside the data (persistent ids,
extension codes) are refused, and so are memo slots out of sequence (a crafted slot number
makes the unpickler allocate gigabytes). Every global a pickle names goes through `find_class`,
which knows only NumPy's array, dtype and scalar reconstruction and `_codecs.encode` (how
protocols 0-2 write bytes), and refuses anything else, naming it. Even those get stand-ins:
nothing of NumPy is called while the pickle runs (no `__setstate__` of a real dtype or
array sees a crafted state); the stand-ins record what they are given, and once loading
ends each is checked and turned into a fresh array, dtype or scalar. Anything else that
reaches the result is refused. Every failure, a refused global or a damaged file, is an
`UnsafePickleError`.
"""
from __future__ import annotations

import io
import pickle
import pickletools
import warnings
from typing import Any

import numpy as np

MAX_PICKLE_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 64
# dtype kinds an array may have: booleans, integers, floats, complex numbers, bytes, text
_KINDS = frozenset("biufcSU")
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_MODULES = ("numpy.core.numeric", "numpy._core.numeric")
_BUILTIN_MODULES = ("builtins", "__builtin__")
_PLAIN = (str, bytes, bytearray, int, float, bool, type(None))
# Opcodes that make objects of named classes, or fetch objects from outside the data.
_FORBIDDEN_OPCODES = frozenset({"INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PERSID", "BINPERSID",
                                "EXT1", "EXT2", "EXT4"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})


class UnsafePickleError(ValueError):
    """A pickle that was refused (it names code to run) or could not be read."""


def _refuse(what: str) -> UnsafePickleError:
    return UnsafePickleError(f"refused: {what}")


class _Stub:
    """A stand-in built while the pickle runs; `resolve` makes the real value once it ends."""

    def __setstate__(self, state: Any) -> None:
        raise _refuse(f"state given to a {type(self).__name__.strip('_')}")

    def resolve(self) -> Any:
        raise NotImplementedError


class _ArrayClass(_Stub):
    """What the pickle gets for `numpy.ndarray`: only `_reconstruct`'s first argument."""


class _Dtype(_Stub):
    def __init__(self, name: Any) -> None:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str) or len(name) > 16:
            raise _refuse(f"a dtype named by a {type(name).__name__}")
        self.name, self.order = name, "="

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9) or \
                state[2:5] != (None, None, None) or state[1] not in ("<", ">", "|", "="):
            raise _refuse("a structured or sub-array dtype (only plain ones are read)")
        self.order = state[1]

    def resolve(self) -> np.dtype:
        try:
            dtype = np.dtype(self.name)
        except TypeError as exc:
            raise _refuse(f"dtype {self.name!r} ({exc})") from None
        if dtype.kind not in _KINDS:
            raise _refuse(f"a NumPy array of dtype {dtype} (only numbers, booleans and text)")
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype


def _dtype_of(value: Any) -> np.dtype:
    if not isinstance(value, _Dtype):
        raise _refuse(f"a dtype given as a {type(value).__name__}")
    return value.resolve()


class _Array(_Stub):
    """`_reconstruct(ndarray, (0,), b'b')` followed by its state."""

    def __init__(self, subtype: Any, shape: Any, stub_dtype: Any) -> None:
        if subtype is not _ARRAY_CLASS or shape != (0,):
            raise _refuse("numpy _reconstruct called with other than an empty ndarray")
        self.state: tuple | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _refuse("an ndarray state of an unknown form")
        self.state = state[-4:]

    def resolve(self) -> np.ndarray:
        if self.state is None:
            return np.empty(0, np.int8)
        shape, dtype, fortran, raw = self.state
        return _array(raw, _dtype_of(dtype), shape, "F" if fortran is True else "C")


class _Buffer(_Stub):
    """`_frombuffer(data, dtype, shape, order)`: protocol 5's arrays."""

    def __init__(self, data: Any, dtype: Any, shape: Any, order: Any) -> None:
        if isinstance(data, pickle.PickleBuffer):
            data = bytes(data.raw())
        self.args = (data, dtype, shape, order)

    def resolve(self) -> np.ndarray:
        data, dtype, shape, order = self.args
        if order not in ("C", "F"):
            raise _refuse(f"array order {order!r}")
        return _array(data, _dtype_of(dtype), shape, order)


class _Scalar(_Stub):
    def __init__(self, dtype: Any, data: Any = b"") -> None:
        self.args = (dtype, data)

    def resolve(self) -> np.generic:
        dtype, data = _dtype_of(self.args[0]), self.args[1]
        return _array(data, dtype, (), "C")[()]


def _array(raw: Any, dtype: np.dtype, shape: Any, order: str) -> np.ndarray:
    """A fresh array of `shape` from exactly its raw bytes."""
    if not isinstance(raw, (bytes, bytearray)):
        raise _refuse(f"array data given as a {type(raw).__name__}")
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise _refuse(f"array shape {shape!r}")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(raw):
        raise _refuse(f"array of shape {shape} with {len(raw)} bytes of data")
    return np.frombuffer(bytes(raw), dtype).reshape(shape, order=order).copy()


def _latin1(text: Any, encoding: Any = "latin1") -> bytes:
    """`_codecs.encode`, as protocols 0-2 use it for bytes: latin-1 text only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin-1")


def _container(kind: type) -> Any:
    def build(items: Any = ()) -> Any:
        if not isinstance(items, (list, tuple, bytes, str)) or \
                (kind in (bytes, bytearray) and isinstance(items, (list, tuple)) and items):
            raise _refuse(f"{kind.__name__} of a {type(items).__name__}")
        return kind(items.encode("latin-1") if isinstance(items, str) else items)
    return build


_ARRAY_CLASS = _ArrayClass()
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _Array for module in _NUMPY_MODULES},
    **{(module, "scalar"): _Scalar for module in _NUMPY_MODULES},
    **{(module, "_frombuffer"): _Buffer for module in _NUMERIC_MODULES},
    ("numpy", "ndarray"): _ARRAY_CLASS,
    ("numpy", "dtype"): lambda name, align=False, copy=True: _Dtype(name),
    ("_codecs", "encode"): _latin1,
    **{(module, name): _container(kind) for module in _BUILTIN_MODULES
       for name, kind in (("set", set), ("frozenset", frozenset), ("bytes", bytes),
                           ("bytearray", bytearray))},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise _refuse(f"the pickle names {module}.{name}, which could run code (only "
                          "plain data and NumPy arrays are read)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _refuse("the pickle asks for a persistent object")


def safe_loads(data: bytes, *, max_bytes: int = MAX_PICKLE_BYTES) -> Any:
    """The plain data a pickle holds; UnsafePickleError if it names anything else, is
    larger than `max_bytes` or cannot be read."""
    if len(data) > max_bytes:
        raise _refuse(f"a pickle of {len(data):,} bytes (at most {max_bytes:,} are read)")
    try:
        _check_opcodes(data)
        loaded = _Unpickler(io.BytesIO(data)).load()
        return _plain(loaded, {}, 0)
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage (recursion, memory) says so plainly
        raise UnsafePickleError(f"not a readable pickle ({type(exc).__name__}: "
                                f"{str(exc)[:120]})") from None


def _check_opcodes(data: bytes) -> None:
    """Read the opcodes without running them: refuse those that make objects of classes or
    reach outside the data, globals not allowed, and memo slots out of sequence (a pickle
    asking to store at slot 2**31 would make the unpickler allocate gigabytes)."""
    stored = 0
    with warnings.catch_warnings():   # protocol 0 strings with stray escapes
        warnings.simplefilter("ignore", DeprecationWarning)
        for opcode, arg, _ in pickletools.genops(data):
            _check_opcode(opcode.name, arg, stored)
            if opcode.name in _PUTS:
                stored = max(stored, arg + 1)
            elif opcode.name == "MEMOIZE":
                stored += 1


def _check_opcode(name: str, arg: Any, stored: int) -> None:
    """One opcode, with `stored` memo slots filled so far."""
    if name in _FORBIDDEN_OPCODES:
        raise _refuse(f"the pickle uses {name}, which makes objects of named classes")
    if name == "GLOBAL":
        module, _, attribute = str(arg).partition(" ")
        if (module, attribute) not in _ALLOWED:
            raise _refuse(f"the pickle names {module}.{attribute}, which could run code "
                          "(only plain data and NumPy arrays are read)")
    elif name in _PUTS and (not isinstance(arg, int) or arg > stored):
        raise _refuse(f"memo slot {arg} out of sequence")
    elif name in _GETS and (not isinstance(arg, int) or arg >= stored):
        raise _refuse(f"memo slot {arg} read before it was stored")


def _plain(value: Any, made: dict[int, Any], depth: int) -> Any:
    """`value` with every stand-in made real; anything but plain data is refused. Each
    object is made once (`made`), so shared and cyclic parts cost nothing more."""
    if isinstance(value, _PLAIN):
        return value
    if depth > MAX_DEPTH:
        raise _refuse(f"data nested deeper than {MAX_DEPTH} levels")
    if id(value) in made:
        return made[id(value)]
    if isinstance(value, (list, dict)):
        copy: Any = type(value)()
        made[id(value)] = copy
        if isinstance(value, list):
            copy.extend(_plain(item, made, depth + 1) for item in value)
        else:
            copy.update((_plain(k, made, depth + 1), _plain(v, made, depth + 1))
                        for k, v in value.items())
        return copy
    if isinstance(value, (tuple, set, frozenset)):
        result = type(value)(_plain(item, made, depth + 1) for item in value)
    elif isinstance(value, _Stub) and not isinstance(value, _ArrayClass):
        result = value.resolve()
    else:
        raise _refuse(f"the pickle made a {type(value).__name__}")
    made[id(value)] = result
    return result

"""A safe wire format between the sandbox and the trusted side: never pickle.

A message is ``MAGIC | u32 header length | header JSON | blobs``. The header is a tree of JSON
scalars and one-key objects:

* ``{"L": [...]}`` a list (tuples become lists), ``{"D": [[key, node], ...]}`` a dict with str keys,
* ``{"T": [blob, dtype, shape]}`` a plain tensor whose raw bytes are blob ``blob``,
* ``{"B": blob}`` raw bytes, ``{"O": type name}`` an object that cannot cross (shown by name).

Decoding only parses JSON and copies bytes into fresh tensors of a whitelisted dtype, so nothing
the sandbox sends can run code on the trusted side. A ``torch.Tensor`` subclass is turned into a
plain tensor on the sending side (``as_subclass(torch.Tensor)``) — its methods never cross.

``frame``/``read_frame`` add a 4-byte length prefix for streams (pipes).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

MAGIC = b"STW1"
MAX_MESSAGE = 512 * 1024 * 1024  # bytes; a larger message is refused
MAX_RESULT = 64 * 1024 * 1024  # materialised bytes of one probe result (tensors counted in full)


class ResultTooLarge(ValueError):
    """A result whose tensors, materialised, exceed the limit (``expand()`` views count in full)."""


MAX_DEPTH = 32
MAX_DIMS = 64  # torch's own limit on a tensor's dimensions

_DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
)


class WireError(ValueError):
    """A malformed or oversized message."""


@dataclass(frozen=True)
class Opaque:
    """Something a probe returned that is not plain data; only its type name crosses."""

    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def _torch():
    import torch

    return torch


def plain_tensor(x: Any):
    """A plain, detached, contiguous CPU ``torch.Tensor`` with the same values as ``x``."""
    torch = _torch()
    with torch._C.DisableTorchFunctionSubclass():
        t = torch.Tensor.as_subclass(x, torch.Tensor)
        t = torch.Tensor.detach(t)
        if t.is_sparse:
            t = t.to_dense()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.is_conj():
            t = t.resolve_conj()
        if t.is_neg():
            t = t.resolve_neg()
        return t.contiguous()


def encode(obj: Any, limit: int | None = None) -> bytes:
    """The message for ``obj``. With ``limit``: ResultTooLarge when its tensors, counted at their
    materialised size (numel × element size, whatever their strides), exceed ``limit`` bytes —
    checked before anything is copied."""
    blobs: list[bytes] = []
    total = [0]
    planned = [0]

    def add_blob(b: bytes) -> int:
        total[0] += len(b)
        if total[0] > MAX_MESSAGE:
            raise WireError(f"message larger than {MAX_MESSAGE} bytes")
        blobs.append(b)
        return len(blobs) - 1

    def node(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("nested too deeply")
        if x is None or isinstance(x, (bool, str)):
            return x if not isinstance(x, str) else str(x)
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x)
        if isinstance(x, (bytes, bytearray, memoryview)):
            return {"B": add_blob(bytes(x))}
        if isinstance(x, (list, tuple)):
            return {"L": [node(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            return {"D": [[str(k), node(v, depth + 1)] for k, v in x.items()]}
        if isinstance(x, Opaque):
            return {"O": x.type_name}
        torch = _torch() if "torch" in _loaded() else None
        if torch is not None and isinstance(x, torch.Tensor):
            if limit is not None:
                try:
                    with torch._C.DisableTorchFunctionSubclass():
                        size = int(torch.Tensor.numel(x)) * int(torch.Tensor.element_size(x))
                except Exception:  # noqa: BLE001
                    size = 0
                planned[0] += size
                if planned[0] > limit:
                    raise ResultTooLarge(
                        f"the result is at least {planned[0] / 2**20:.1f} MiB once its tensors are "
                        f"materialised (expand() views and zero strides count in full); the grader "
                        f"accepts at most {limit / 2**20:.0f} MiB"
                    )
            try:
                t = plain_tensor(x)
                dtype = str(t.dtype).removeprefix("torch.")
                if dtype not in _DTYPES:
                    return {"O": f"tensor of unsupported dtype {dtype}"}
                raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
                return {"T": [add_blob(raw), dtype, [int(s) for s in t.shape]]}
            except (WireError, ResultTooLarge):
                raise
            except Exception as exc:  # noqa: BLE001 -- meta tensors, broken subclasses, ...
                return {"O": f"tensor that cannot be read ({type(exc).__name__}: {exc})"[:200]}
        if torch is not None and isinstance(x, (torch.dtype, torch.Size)):
            return str(x) if isinstance(x, torch.dtype) else {"L": [int(s) for s in x]}
        return {"O": type(x).__name__}

    header = json.dumps(node(obj, 0), allow_nan=True, separators=(",", ":")).encode()
    sizes = [len(b) for b in blobs]
    head = json.dumps({"h": header.decode(), "s": sizes}, separators=(",", ":")).encode()
    return b"".join([MAGIC, struct.pack(">I", len(head)), head, *blobs])


def _loaded() -> dict:
    import sys

    return sys.modules


def decode(data: bytes) -> Any:
    if len(data) > MAX_MESSAGE + 65536:
        raise WireError("message too large")
    if data[:4] != MAGIC or len(data) < 8:
        raise WireError("not a wire message")
    (hlen,) = struct.unpack(">I", data[4:8])
    if 8 + hlen > len(data):
        raise WireError("truncated header")
    try:
        head = json.loads(data[8 : 8 + hlen])
        tree = json.loads(head["h"])
        sizes = [int(s) for s in head["s"]]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise WireError(f"bad header: {type(exc).__name__}") from None
    offsets = []
    pos = 8 + hlen
    for s in sizes:
        if s < 0 or pos + s > len(data):
            raise WireError("truncated blob")
        offsets.append((pos, pos + s))
        pos += s
    if pos != len(data):
        raise WireError("trailing bytes")

    def blob(i: Any) -> bytes:
        if not isinstance(i, int) or not 0 <= i < len(offsets):
            raise WireError("bad blob index")
        a, b = offsets[i]
        return data[a:b]

    def node(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("nested too deeply")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if not isinstance(x, dict) or len(x) != 1:
            raise WireError("bad node")
        ((tag, val),) = x.items()
        if tag in ("L", "D") and not isinstance(val, list):
            raise WireError("bad node")
        if tag == "L":
            return [node(v, depth + 1) for v in val]
        if tag == "D":
            return {str(k): node(v, depth + 1) for k, v in val}
        if tag == "B":
            return blob(val)
        if tag == "O":
            return Opaque(str(val)[:200])
        if tag == "T":
            return _tensor(blob(val[0]), val[1], val[2])
        raise WireError(f"unknown tag {tag!r}"[:100])

    try:
        return node(tree, 0)
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 — a malformed node: e.g. {"D": [[1, 2, 3]]}, {"T": []}
        raise WireError(f"bad node ({type(exc).__name__})") from None


def _tensor(raw: bytes, dtype_name: Any, shape: Any):
    torch = _torch()
    if dtype_name not in _DTYPES:
        raise WireError(f"dtype {dtype_name!r} not allowed")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(type(s) is int and 0 <= s < 2**40 for s in shape)
    ):
        raise WireError("bad shape")
    dtype = getattr(torch, dtype_name)
    numel = 1
    for s in shape:
        numel *= s
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise WireError("tensor size does not match its shape")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    if dtype == torch.bool:  # any byte but 0 or 1 is not a bool: it would compare unlike True
        return (flat != 0).reshape(shape)
    return flat.view(dtype).reshape(shape).clone()


# -- stream framing --------------------------------------------------------------------------


def frame(obj: Any) -> bytes:
    body = encode(obj)
    return struct.pack(">I", len(body)) + body


def write_frame(fd: int, obj: Any) -> None:
    data = memoryview(frame(obj))
    while data:
        n = os.write(fd, data)
        data = data[n:]


def read_exact(fd: int, n: int) -> bytes | None:
    """n bytes from fd, or None at end of file."""
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """The next decoded message, or None at end of file."""
    head = read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > MAX_MESSAGE + 65536:
        raise WireError("frame too large")
    body = read_exact(fd, n)
    if body is None:
        return None
    return decode(body)


class FrameTooLarge(WireError):
    """A frame announced a length above the reader's limit (refused before it is buffered)."""


class FrameReader:
    """Incremental framing for non-blocking reads: feed bytes, take whole frames (undecoded).
    A frame longer than ``max_frame`` is refused (FrameTooLarge) as soon as its length is read."""

    def __init__(self, max_frame: int = MAX_MESSAGE + 65536) -> None:
        self.buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> None:
        self.buf += data

    def frames(self) -> list[bytes]:
        out = []
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            if n > self.max_frame:
                raise FrameTooLarge(f"frame of {n} bytes (limit {self.max_frame})")
            if len(self.buf) < 4 + n:
                break
            out.append(bytes(self.buf[4 : 4 + n]))
            del self.buf[: 4 + n]
        return out

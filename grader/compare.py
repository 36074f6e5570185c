"""Comparisons that teach: every failure names the property and gives a witness.

These run on the trusted side only, on plain tensors decoded by ``wire``.
"""

from __future__ import annotations

from typing import Any

import torch

from .spec import Outcome


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _value(x: float) -> str:
    """A value as a learner reads it: -inf, inf, NaN, or the number."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    x = float(x)
    return f"{x:.1f}" if x.is_integer() and abs(x) < 1e6 else _fmt(x)


def _index(flat_index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for size in reversed(shape):
        out.append(flat_index % size if size else 0)
        flat_index //= size if size else 1
    return tuple(reversed(out))


def check_tensor(
    actual: Any, what: str, *, shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None
) -> Outcome | None:
    """None when ``actual`` is a tensor of the given shape and dtype, else a failed Outcome."""
    if not isinstance(actual, torch.Tensor):
        got = getattr(actual, "type_name", None) or type(actual).__name__  # wire.Opaque: its name
        return Outcome.failed(f"{what}: expected a torch.Tensor, got {got}")
    if shape is not None and tuple(actual.shape) != tuple(shape):
        return Outcome.failed(f"{what}: wrong shape — expected {list(shape)}, got {list(actual.shape)}")
    if dtype is not None and actual.dtype != dtype:
        return Outcome.failed(f"{what}: wrong dtype — expected {dtype}, got {actual.dtype}")
    return None


def close(
    actual: Any,
    expected: torch.Tensor,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    check_dtype: bool = True,
) -> Outcome:
    """Compare values; on mismatch report the first bad index, both values and the max error."""
    bad = check_tensor(
        actual, what, shape=tuple(expected.shape), dtype=expected.dtype if check_dtype else None
    )
    if bad is not None:
        return bad
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    # Infinities and NaN first: an error between -inf and a number is no "largest error", it is a
    # different kind of value, and it is said as such ("expected -inf at [0, 1, 0], got 0.0").
    special = ~torch.isfinite(a) | ~torch.isfinite(e)
    agree = (a == e) | (torch.isnan(a) & torch.isnan(e))
    odd = special & ~agree
    if bool(odd.any()):
        idx = _index(int(torch.nonzero(odd.flatten())[0]), tuple(e.shape))
        n_odd = int(odd.sum())
        more = f"; {n_odd} of {e.numel()} elements differ like this" if n_odd > 1 else ""
        return Outcome.failed(
            f"{what}: expected {_value(e[idx].item())} at {list(idx)}, got {_value(a[idx].item())}{more}"
        )
    finite = torch.isfinite(e)
    diff = torch.where(finite, (a - e).abs(), torch.zeros_like(a))
    tol = atol + rtol * torch.where(finite, e.abs(), torch.zeros_like(e))
    bad_mask = diff > tol
    if not bool(bad_mask.any()):
        return Outcome.passed(max_abs_error=float(diff.max()) if diff.numel() else 0.0)
    first = int(torch.nonzero(bad_mask.flatten())[0])
    idx = _index(first, tuple(e.shape))
    n_bad = int(bad_mask.sum())
    return Outcome.failed(
        f"{what}: values differ at index {list(idx)} — expected {_fmt(e[idx].item())}, "
        f"got {_fmt(a[idx].item())}; {n_bad} of {e.numel()} elements off, "
        f"largest absolute error {_fmt(float(diff.max()))} (tolerance atol={atol:g}, rtol={rtol:g})"
    )


def all_of(*outcomes: Outcome) -> Outcome:
    """The first failure, or a pass that merges the figures of all."""
    figures: dict[str, Any] = {}
    for o in outcomes:
        if o.status != "pass":
            return o
        figures.update(o.figures)
    return Outcome.passed(**figures)

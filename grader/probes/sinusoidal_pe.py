"""Sandbox side of the sinusoidal_pe checks: call the learner's function, return plain data."""

from __future__ import annotations


def _call(mod, seq_len, d_model, base=None):
    fn = mod.sinusoidal_position_encoding
    return fn(seq_len, d_model) if base is None else fn(seq_len, d_model, base=base)


def probe_encode(mod, cases):
    """cases: [[seq_len, d_model, base or None], ...] → {"out": [result, ...]}."""
    return {"out": [_call(mod, *case) for case in cases]}


def probe_raises(mod, cases):
    """For each case, what happened: the exception type (and whether it is a ValueError) or the
    type of what was returned."""
    rows = []
    for case in cases:
        try:
            got = _call(mod, *case)
        except Exception as exc:  # noqa: BLE001 — report whatever the learner raised
            rows.append(
                {
                    "raised": type(exc).__name__,
                    "is_value_error": isinstance(exc, ValueError),
                    "message": str(exc)[:200],
                }
            )
        else:
            shape = list(got.shape) if hasattr(got, "shape") else None
            rows.append(
                {
                    "raised": None,
                    "is_value_error": False,
                    "returned": type(got).__name__,
                    "shape": [int(s) for s in shape] if shape is not None else None,
                }
            )
    return {"rows": rows}

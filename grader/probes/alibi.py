"""Sandbox side of the alibi checks."""

from __future__ import annotations

from studytool.grader.sandbox_api import snapshot


def probe_slopes(mod, head_counts):
    return {f"slopes_{n}": snapshot(mod.alibi_slopes(n)) for n in head_counts}


def probe_bias(mod, n_heads, seq_len):
    return {"bias": snapshot(mod.alibi_bias(n_heads, seq_len))}

"""Forbidden operators, refused at the dispatcher (ATen) level (sandbox side).

An exercise that asks the learner to write attention themselves forbids torch's fused attention:
every operator below, however the learner's code reaches it — ``F.scaled_dot_product_attention``,
``torch.ops.aten.*``, ``torch._C._nn``, ``importlib``/``eval``/``getattr`` with a built name, or a
library (``nn.MultiheadAttention``'s fast path, a model from ``transformers``) that calls one
internally. Everything else, libraries included, is allowed.

``install(ops, ...)`` registers, in the forked child and right before the learner's file is
imported, a kernel for every overload of each operator that replaces torch's own (for the
``CPU`` key, and for ``CompositeImplicitAutograd`` where that is how the operator is built). The
replacement keeps no reference to the original kernel (torch keeps it in C++ only), and the
registration handle is leaked on purpose: no Python object that could deregister it exists (the
handle is a C++ object that the garbage collector does not track, and nothing refers to it).

A call writes a ``forbidden`` event to the result pipe (operator, the learner's line) and ends the
child at once (exit code ``EXIT_FORBIDDEN``), so a learner cannot catch the refusal and fall back.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings

EXIT_FORBIDDEN = 87

# torch's fused attention: SDPA, each of its backends, the backend chooser, and the fused
# multi-head / encoder-layer kernels that call them
FUSED_ATTENTION = (
    "scaled_dot_product_attention",
    "_fused_sdp_choice",
    "_scaled_dot_product_attention_math",
    "_scaled_dot_product_attention_math_for_mps",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_flash_attention_for_cpu_backward",
    "_scaled_dot_product_flash_attention_backward",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_efficient_attention_backward",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_cudnn_attention_backward",
    "_scaled_dot_product_fused_attention_overrideable",
    "_scaled_dot_product_fused_attention_overrideable_backward",
    "_flash_attention_forward",
    "_flash_attention_backward",
    "_flash_attention_forward_no_dropout_inplace",
    "_efficient_attention_forward",
    "_efficient_attention_backward",
    "_cudnn_attention_forward",
    "_cudnn_attention_backward",
    "_native_multi_head_attention",
    "_triton_multi_head_attention",
    "_transform_bias_rescale_qkv",
    "_transformer_encoder_layer_fwd",
)
FAMILY_LABEL = "torch's fused attention"

# Python names an exercise.yaml may list under `forbidden:` that mean the fused-attention family
_FUSED_NAMES = (
    "scaled_dot_product_attention",
    "MultiheadAttention",
    "multi_head_attention_forward",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    "TransformerDecoderLayer",
    "Transformer",
)


def ops_for(meta: dict) -> list[str]:
    """The ATen operators an exercise forbids: ``forbidden_ops:`` if given, else the fused-attention
    family when ``forbidden:`` names any fused-attention entry point."""
    explicit = meta.get("forbidden_ops")
    if explicit:
        return [str(o).removeprefix("aten::") for o in explicit]
    names = [str(n).rsplit(".", 1)[-1] for n in (meta.get("forbidden") or [])]
    if any(n in _FUSED_NAMES for n in names):
        return list(FUSED_ATTENTION)
    return []


def _learner_line(display: str) -> int | None:
    f = sys._getframe(2)
    while f is not None:
        if f.f_code.co_filename == display:
            return f.f_lineno
        f = f.f_back
    return None


def install(ops: list[str], exercise: str, display: str, res_fd: int) -> int:
    """Replace each operator's kernels by a refusal. Returns how many kernels were replaced."""
    import torch
    from studytool.grader import wire

    wanted = set(ops)
    names = [
        n
        for n in torch._C._dispatch_get_all_op_names()
        if n.startswith("aten::") and n[6:].split(".", 1)[0] in wanted
    ]
    lib = torch._C._dispatch_library("IMPL", "aten", "")
    count = 0

    def make(opname: str):
        def refuse(*args, **kwargs):
            line = _learner_line(display)
            where = f"{display} line {line}" if line else f"your code ({display})"
            msg = (
                f"{exercise}: your code ran aten::{opname} ({FAMILY_LABEL}), which this exercise "
                f"asks you to write yourself — called from {where}"
            )
            try:
                wire.write_frame(res_fd, {"ev": "forbidden", "op": opname, "line": line, "message": msg})
            except Exception:  # noqa: BLE001 — the pipe may be gone; the exit code still says it
                pass
            os._exit(EXIT_FORBIDDEN)

        refuse.__name__ = refuse.__qualname__ = "refused_" + opname.replace(".", "_")
        return refuse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for full in names:
            op = full[6:]
            base, _, overload = op.partition(".")
            keys = (
                ["CompositeImplicitAutograd"]
                if torch._C._dispatch_has_kernel_for_dispatch_key(full, "CompositeImplicitAutograd")
                else ["CPU"]
            )
            for key in keys:
                try:
                    lib.impl(op, key, make(op), False)
                    count += 1
                except RuntimeError:
                    pass
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(lib))  # the registrations live as long as we do
    del lib
    return count

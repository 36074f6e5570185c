"""Sandbox side of the flash_attention checks."""

from __future__ import annotations

import torch
from studytool.grader.sandbox_api import snapshot


def probe_values(mod, q, k, v, causal=False, block_sizes=(64,)):
    out = {}
    with torch.no_grad():
        for bs in block_sizes:
            r = mod.tiled_attention(q, k, v, causal=causal, block_size=bs)
            out[f"out_{bs}"] = snapshot(r)
    return out


def probe_default_block(mod, q, k, v):
    with torch.no_grad():
        r = mod.tiled_attention(q, k, v)
    return {"out_64": snapshot(r)}


def probe_memory_run(mod, n, d, block_size, causal=False, seed=0):
    """One measured run (a fresh child per run; the grader reads its peak memory from the kernel
    with wait4, outside this process): attention at N, and four rows of its output so the judge
    can tell that the work was done."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, n, d, generator=gen)
    k = torch.randn(1, 1, n, d, generator=gen)
    v = torch.randn(1, 1, n, d, generator=gen)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    with torch.no_grad():
        out = mod.tiled_attention(q, k, v, causal=causal, block_size=block_size)
    if not isinstance(out, torch.Tensor):
        return {"sample": snapshot(out), "colsum": None}
    # four rows as a witness, and the sum over all N rows, which only the whole output gives
    return {"sample": snapshot(out[:, :, rows]), "colsum": out.double().sum(dim=-2)}


# -- what the learner's call does, observed at the dispatcher (a diagnostic) ----------------------
#
# The learner's call runs inside a TorchDispatchMode that sees every ATen operator it runs. Each
# tensor carries a tag: which of q, k, v it was computed from (views, slices, scaling, casts keep
# the tag; ops merge the tags of their inputs). Two kinds of products are recorded:
#
# * a score product: one operand computed from q (not k), the other from k (not q) — its key
#   extent is the number of keys it scores at once (the k operand's non-contracted dimension for
#   mm/bmm/addmm/baddbmm/mv, or the dimensions along which k varies and q is broadcast for mul);
# * a p·v product: one operand computed from v (not q), the other from q and k — its key extent is
#   the contraction dimension.
#
# Everything here runs in the learner's process: the judge may only turn it into a failure
# (scores against all keys at once, or a first pass over every key before any output), never use
# it to pass something another test fails. What it cannot see is not read as fine: no score
# product seen (work hidden from the mode: another thread, NumPy, torch._C._DisableTorchDispatch),
# or the mode gone from the stack after the call, is a failure too.

_Q, _K, _V = 1, 2, 4
_MATMUL = {
    "mm": (0, 1),
    "bmm": (0, 1),
    "addmm": (1, 2),
    "baddbmm": (1, 2),
    "addbmm": (1, 2),
    "mv": (0, 1),
    "addmv": (1, 2),
    "dot": (0, 1),
    "vdot": (0, 1),
}
_EXP = {
    "exp",
    "exp_",
    "exp2",
    "exp2_",
    "expm1",
    "_softmax",
    "_log_softmax",
    "logsumexp",
    "_safe_softmax",
    "logaddexp",
    "sigmoid",
    "pow",
    "softmax",
}
_MAX_KEPT = 8  # examples kept per kind
# ops whose result holds no data of their inputs (zeros_like(q) is not "computed from q")
_NO_DATA = {
    "empty_like",
    "zeros_like",
    "ones_like",
    "full_like",
    "new_empty",
    "new_zeros",
    "new_ones",
    "new_full",
    "new_empty_strided",
    "empty_strided",
    "rand_like",
    "randn_like",
    "zero_",
    "fill_",
}


def _extent_matmul(name, a, b, side):
    """Keys scored at once by a score product, ``side`` 0 when a holds the keys, 1 when b does."""
    if name in ("dot", "vdot"):
        return 1
    if name in ("mv", "addmv"):
        return int(a.shape[0]) if side == 0 else 1
    return int(a.shape[-2]) if side == 0 else int(b.shape[-1])


def _extent_mul(qt, kt):
    """Keys scored at once by a broadcast product q_part * k_part: the sizes along which k varies
    while q is broadcast (size 1 or absent)."""
    qs, ks = list(qt.shape), list(kt.shape)
    n = max(len(qs), len(ks))
    qs, ks = [1] * (n - len(qs)) + qs, [1] * (n - len(ks)) + ks
    ext = 1
    found = False
    for a, b in zip(qs, ks):
        if b > 1 and a == 1:
            ext *= b
            found = True
    return ext if found else 0


def _observe(mod, q, k, v, causal, block_size):
    """One call of the learner's tiled_attention under the observer: (facts, its result)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    from torch.utils.weak import WeakIdKeyDictionary

    tags = WeakIdKeyDictionary()
    tags[q], tags[k], tags[v] = _Q, _K, _V
    facts = {
        "score_ops": 0,
        "pv_ops": 0,
        "ops": 0,
        "score_max": 0,
        "score_max_ex": None,
        "pv_max": 0,
        "pv_max_ex": None,
        "keys_scored": 0,
        "keys_before_pv": None,
        "keys_before_exp": None,
        "score_examples": [],
        "pv_examples": [],
    }

    def tag_of(x):
        return tags.get(x, 0) if isinstance(x, torch.Tensor) else 0

    def example(name, ext, tensors, out, queries=None):
        return {
            "op": name,
            "keys": ext,
            "queries": queries,
            "shapes": [list(t.shape) for t in tensors],
            "out": list(out.shape) if isinstance(out, torch.Tensor) else None,
        }

    class Observer(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls):
            return False  # torch would wrap __torch_dispatch__ and import torch._dynamo (~1 s)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            facts["ops"] += 1
            flat, _ = tree_flatten((args, kwargs))
            tin = 0
            for x in flat:
                tin |= tag_of(x)
            name = func._schema.name.split("::")[-1]
            pair = None
            if name in _MATMUL:
                i, j = _MATMUL[name]
                if len(args) > j and isinstance(args[i], torch.Tensor) and isinstance(args[j], torch.Tensor):
                    pair = (args[i], args[j])
            elif (
                name in ("mul", "mul_")
                and len(args) > 1
                and isinstance(args[0], torch.Tensor)
                and isinstance(args[1], torch.Tensor)
            ):
                pair = (args[0], args[1])
            if pair is not None:
                ta, tb = tag_of(pair[0]), tag_of(pair[1])
                is_q = lambda t: bool(t & _Q) and not t & _K  # noqa: E731
                is_k = lambda t: bool(t & _K) and not t & _Q  # noqa: E731
                is_v = lambda t: bool(t & _V) and not t & _Q  # noqa: E731
                is_p = lambda t: bool(t & _Q) and bool(t & _K)  # noqa: E731
                ext, kind = 0, None
                if (is_q(ta) and is_k(tb)) or (is_k(ta) and is_q(tb)):
                    side = 0 if is_k(ta) else 1
                    if name.startswith("mul"):
                        ext = _extent_mul(pair[1 - side], pair[side])
                        rows = _extent_mul(pair[side], pair[1 - side])
                    else:
                        ext = _extent_matmul(name, pair[0], pair[1], side)
                        rows = _extent_matmul(name, pair[0], pair[1], 1 - side)
                    kind = "score" if ext else None
                elif ((is_p(ta) and is_v(tb)) or (is_v(ta) and is_p(tb))) and not name.startswith("mul"):
                    ext = int(pair[0].shape[-1])  # the contraction dimension
                    kind = "pv"
                if kind == "score":
                    facts["score_ops"] += 1
                    facts["keys_scored"] += ext
                    if ext > facts["score_max"]:
                        facts["score_max"] = ext
                        facts["score_max_ex"] = example(name, ext, pair, out, rows)
                    if len(facts["score_examples"]) < _MAX_KEPT:
                        facts["score_examples"].append(example(name, ext, pair, out, rows))
                elif kind == "pv":
                    facts["pv_ops"] += 1
                    if facts["keys_before_pv"] is None:
                        facts["keys_before_pv"] = facts["keys_scored"]
                    if ext > facts["pv_max"]:
                        facts["pv_max"] = ext
                        facts["pv_max_ex"] = example(name, ext, pair, out)
                    if len(facts["pv_examples"]) < _MAX_KEPT:
                        facts["pv_examples"].append(example(name, ext, pair, out))
            if name in _EXP and tin & _Q and tin & _K and facts["keys_before_exp"] is None:
                facts["keys_before_exp"] = facts["keys_scored"]
            if name in _NO_DATA:
                for x in tree_flatten(out)[0]:
                    if isinstance(x, torch.Tensor):
                        tags[x] = 0
            elif tin:
                for x in tree_flatten(out)[0]:
                    if isinstance(x, torch.Tensor):
                        tags[x] = tags.get(x, 0) | tin
            return out

    depth = torch._C._len_torch_dispatch_stack()
    mode = Observer()
    out = None
    with torch.no_grad():
        mode.__enter__()
        try:
            out = mod.tiled_attention(q, k, v, causal=causal, block_size=block_size)
        finally:
            intact = (
                torch._C._len_torch_dispatch_stack() == depth + 1
                and torch.utils._python_dispatch._get_current_dispatch_mode() is mode
            )
            if intact:
                mode.__exit__(None, None, None)
    facts["observer_intact"] = bool(intact)
    return facts, out


def probe_technique(mod, n, d, block_size, seed=0):
    """What one call does, watched at the dispatcher, without and with the causal mask; four
    rows and the column sums of the non-causal output, so the judge can tell the watched call
    computed attention."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, n, d, generator=gen)
    k = torch.randn(1, 1, n, d, generator=gen)
    v = torch.randn(1, 1, n, d, generator=gen)
    facts, out = _observe(mod, q, k, v, False, block_size)
    facts["causal"], _ = _observe(mod, q, k, v, True, block_size)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    if not isinstance(out, torch.Tensor):
        facts.update(sample=snapshot(out), colsum=None)
        return facts
    facts.update(sample=snapshot(out[:, :, rows]), colsum=out.double().sum(dim=-2))
    return facts

"""Sandbox side of the kv_cache checks: runs next to the learner's module, returns plain data."""

from __future__ import annotations

import torch
from studytool.grader.sandbox_api import snapshot

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _storages(obj, seen: set[int] | None = None, depth: int = 0) -> set[int]:
    """Storage addresses of every tensor reachable from obj, at any depth: attributes (also
    __slots__), nn.Module buffers and parameters (they live in its __dict__), lists, tuples,
    dicts — a cache that keeps its buffers in a helper object, a held torchtune-style module or a
    Hugging Face StaticCache-style list of layers is found like one that holds them itself."""
    seen = set() if seen is None else seen
    found: set[int] = set()
    if depth > 12 or id(obj) in seen:
        return found
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        found.add(obj.untyped_storage().data_ptr())
        return found
    if (
        isinstance(obj, (str, bytes, int, float, bool, type(None), type))
        or callable(obj)
        and not hasattr(obj, "__dict__")
    ):
        return found
    items: list = []
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = list(obj)[:10000]
    elif isinstance(obj, dict):
        items = list(obj.values())[:10000]
    else:
        d = getattr(obj, "__dict__", None)
        if isinstance(d, dict):
            items.extend(d.values())
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()) or ():
                if isinstance(slot, str) and hasattr(obj, slot):
                    items.append(getattr(obj, slot))
    for item in items:
        found |= _storages(item, seen, depth + 1)
    return found


def _ptr(t) -> int:
    return t.untyped_storage().data_ptr() if isinstance(t, torch.Tensor) else -1


def _capacity(t, per_token: int) -> int:
    """How many tokens the storage behind t could hold."""
    if not isinstance(t, torch.Tensor) or per_token <= 0:
        return 0
    return int(t.untyped_storage().nbytes() // per_token)


def probe_cache(mod, k, v, chunks, max_len, dtype="float32"):
    """Feed k, v [B, H, T, D] in chunks; return what update() returned after each chunk, and
    where the returned tensors live: the storage behind them at each step, whether the cache
    holds that storage (found at any depth), and how many tokens it has room for."""
    b, h, _, d = k.shape
    dt = _DTYPES[dtype]
    per_token = b * h * d * torch.empty(0, dtype=dt).element_size()
    cache = mod.KVCache(b, h, max_len, d, dtype=dt)
    out = {"len_init": int(len(cache)), "n_steps": len(chunks)}
    init_ptrs = _storages(cache)
    out["n_init_buffers"] = len(init_ptrs)
    first = {}
    start = 0
    for step, size in enumerate(chunks):
        k_all, v_all = cache.update(
            k[:, :, start : start + size].to(dt), v[:, :, start : start + size].to(dt)
        )
        start += size
        out[f"k_{step}"] = snapshot(k_all)
        out[f"v_{step}"] = snapshot(v_all)
        out[f"len_{step}"] = int(len(cache))
        held = _storages(cache)
        for name, t in (("k", k_all), ("v", v_all)):
            ptr = _ptr(t)
            first.setdefault(name, ptr)
            out[f"{name}_same_{step}"] = ptr == first[name] and ptr != -1
            out[f"{name}_held_{step}"] = ptr in held
            out[f"{name}_init_{step}"] = ptr in init_ptrs
            out[f"{name}_capacity_{step}"] = _capacity(t, per_token)
        out[f"init_kept_{step}"] = bool(init_ptrs) and init_ptrs <= held
    return out


def probe_overflow(mod, max_len, chunks):
    """Add chunks one after another; report which step raised what."""
    cache = mod.KVCache(1, 2, max_len, 4)
    for step, size in enumerate(chunks):
        try:
            cache.update(torch.randn(1, 2, size, 4), torch.randn(1, 2, size, 4))
        except Exception as exc:  # noqa: BLE001 - we report whatever the learner raised
            return {
                "raised_at": step,
                "type": type(exc).__name__,
                "message": str(exc)[:200],
                "len": int(len(cache)),
            }
    return {"raised_at": -1, "type": "", "message": "", "len": int(len(cache))}


def _attention(mod, d_model, n_heads, w_q, w_k, w_v, w_o):
    m = mod.CachedSelfAttention(d_model, n_heads)
    with torch.no_grad():
        for name, w in (("q_proj", w_q), ("k_proj", w_k), ("v_proj", w_v), ("out_proj", w_o)):
            lin = getattr(m, name, None)
            if lin is None:
                raise AttributeError(f"CachedSelfAttention has no submodule {name!r}")
            if tuple(lin.weight.shape) != tuple(w.shape):
                raise ValueError(
                    f"{name}.weight has shape {list(lin.weight.shape)}, "
                    f"expected {list(w.shape)} (nn.Linear(d_model, d_model, bias=False))"
                )
            lin.weight.copy_(w)
            if getattr(lin, "bias", None) is not None:
                raise ValueError(f"{name} has a bias; the contract says bias=False")
    return m.eval()


def probe_full(mod, x, d_model, n_heads, w_q, w_k, w_v, w_o):
    m = _attention(mod, d_model, n_heads, w_q, w_k, w_v, w_o)
    with torch.no_grad():
        return {"out": m(x).detach().clone()}


def probe_decode(mod, x, d_model, n_heads, w_q, w_k, w_v, w_o, chunks, max_len):
    """Prefill/decode x in chunks through one cache; count rows through the projections."""
    m = _attention(mod, d_model, n_heads, w_q, w_k, w_v, w_o)
    rows = {"q_proj": [], "k_proj": [], "v_proj": []}

    def counter(name):
        def hook(module, inputs, output):
            rows[name].append(int(inputs[0].numel() // inputs[0].shape[-1]))

        return hook

    handles = [getattr(m, name).register_forward_hook(counter(name)) for name in rows]
    b = x.shape[0]
    cache = mod.KVCache(b, n_heads, max_len, d_model // n_heads, dtype=x.dtype)
    outs, lens, start = [], [], 0
    try:
        with torch.no_grad():
            for size in chunks:
                outs.append(m(x[:, start : start + size], cache).detach().clone())
                start += size
                lens.append(int(len(cache)))
    finally:
        for hdl in handles:
            hdl.remove()
    return {
        "out": torch.cat(outs, dim=1),
        "lens": lens,
        "q_rows": rows["q_proj"],
        "k_rows": rows["k_proj"],
        "v_rows": rows["v_proj"],
    }


def probe_decode_cost(mod, d_model, n_heads, prefill, steps, seed=0):
    """One measured run (a fresh child; its CPU time is read by the grader from the kernel with
    wait4, outside this process): a prefill of ``prefill`` tokens, then ``steps`` one-token
    decode steps through one cache. Returns the last step's output (so the judge can tell the
    work was done) and, as a diagnostic only, the rows seen by k_proj/v_proj's forward hooks in
    the decode steps (code that calls F.linear with the weight skips hooks: this count can only
    ever add a failure, never remove one)."""
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(d_model, d_model, generator=gen) / d_model**0.5 for _ in range(4)]
    x = torch.randn(1, prefill + max(steps, 1), d_model, generator=gen)
    m = _attention(mod, d_model, n_heads, *ws)
    rows = {"k_proj": [], "v_proj": []}

    def counter(name):
        def hook(module, inputs, output):
            rows[name].append(int(inputs[0].numel() // inputs[0].shape[-1]))

        return hook

    cache = mod.KVCache(1, n_heads, prefill + max(steps, 1), d_model // n_heads, dtype=x.dtype)
    out = None
    with torch.no_grad():
        out = m(x[:, :prefill], cache)
        handles = [getattr(m, name).register_forward_hook(counter(name)) for name in rows]
        try:
            for s in range(steps):
                out = m(x[:, prefill + s : prefill + s + 1], cache)
        finally:
            for hdl in handles:
                hdl.remove()
    last = out[:, -1:] if isinstance(out, torch.Tensor) else out
    return {"last": snapshot(last), "k_rows": rows["k_proj"], "v_rows": rows["v_proj"]}

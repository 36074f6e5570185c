"""Issue 9 §1: forbidden operators are refused at the dispatcher, whatever path reaches them.

Each submission below computes causal attention through torch's fused kernels by another route.
Every one must fail with a message naming the aten operator and the learner's line; nothing may
expose an original (no __wrapped__, no subclass, no closure); and a correct answer graded right
after, in the same warm service, still passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[1]
CM = (ROOT / "grader" / "references" / "causal_mask.py").read_text()
FLASH = (ROOT / "grader" / "references" / "flash_attention.py").read_text()
MASK = "import torch, math\ndef causal_mask(n):\n    return torch.ones(n, n, dtype=torch.bool).tril()\n"

ATTACKS = {
    "aten math variant": (
        "def causal_attention(q, k, v):\n"
        "    return torch.ops.aten._scaled_dot_product_attention_math(q, k, v, is_causal=True)[0]\n",
        "aten::_scaled_dot_product_attention_math",
    ),
    "aten flash kernel for cpu": (
        "def causal_attention(q, k, v):\n"
        "    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, "
        "is_causal=True)[0]\n",
        "aten::_scaled_dot_product_flash_attention_for_cpu",
    ),
    "torch._C._nn": (
        "def causal_attention(q, k, v):\n"
        "    return torch._C._nn.scaled_dot_product_attention(q, k, v, is_causal=True)\n",
        "aten::scaled_dot_product_attention",
    ),
    "importlib and a name built at run time": (
        "import importlib\n"
        "def causal_attention(q, k, v):\n"
        "    F = importlib.import_module('torch.nn.' + 'functional')\n"
        "    return getattr(F, 'scaled_dot_' + 'product_attention')(q, k, v, is_causal=True)\n",
        "aten::scaled_dot_product_attention",
    ),
    "eval": (
        "def causal_attention(q, k, v):\n"
        "    f = eval('torch.nn.functional.' + 'scaled_dot_product' + '_attention')\n"
        "    return f(q, k, v, is_causal=True)\n",
        "aten::scaled_dot_product_attention",
    ),
    "__wrapped__ of the function": (
        "import torch.nn.functional as F\n"
        "def causal_attention(q, k, v):\n"
        "    f = getattr(F.scaled_dot_product_attention, '__wrap' + 'ped__', "
        "F.scaled_dot_product_attention)\n"
        "    return f(q, k, v, is_causal=True)\n",
        "aten::scaled_dot_product_attention",
    ),
    "base classes of nn.MultiheadAttention": (
        "def causal_attention(q, k, v):\n"
        "    for cls in torch.nn.MultiheadAttention.__mro__:\n"
        "        if cls.__name__ == 'MultiheadAttention':\n"
        "            real = cls\n"
        "    b, h, n, d = q.shape\n"
        "    m = real(d, 1, batch_first=True, bias=False)\n"
        "    with torch.no_grad():\n"
        "        m.in_proj_weight.copy_(torch.cat([torch.eye(d)] * 3))\n"
        "        m.out_proj.weight.copy_(torch.eye(d))\n"
        "    x = lambda t: t.reshape(b * h, n, d)\n"
        "    out, _ = m(x(q), x(k), x(v), need_weights=False, is_causal=True,\n"
        "               attn_mask=~causal_mask(n))\n"
        "    return out.reshape(b, h, n, d)\n",
        "aten::",
    ),
    "F.multi_head_attention_forward (library internals)": (
        "import torch.nn.functional as F\n"
        "def causal_attention(q, k, v):\n"
        "    b, h, n, d = q.shape\n"
        "    t = lambda x: x.reshape(b * h, n, d).transpose(0, 1)\n"
        "    w = torch.cat([torch.eye(d)] * 3)\n"
        "    out, _ = F.multi_head_attention_forward(t(q), t(k), t(v), d, 1, w, None, None, None,\n"
        "        False, 0.0, torch.eye(d), None, need_weights=False, attn_mask=~causal_mask(n),\n"
        "        is_causal=True)\n"
        "    return out.transpose(0, 1).reshape(b, h, n, d)\n",
        "aten::scaled_dot_product_attention",
    ),
    "gc hunt for the guard, then deregister": (
        "import gc, inspect\n"
        "def causal_attention(q, k, v):\n"
        "    for o in gc.get_objects():\n"
        "        for name in ('_destroy', 'deregister', 'remove'):\n"
        "            if type(o).__name__ in ('Library', '_DispatchModule', 'RegistrationHandle'):\n"
        "                try:\n"
        "                    getattr(o, name)()\n"
        "                except Exception:\n"
        "                    pass\n"
        "        cells = (o.__closure__ or ()) if inspect.isfunction(o) else ()\n"
        "        for c in cells:\n"
        "            try:\n"
        "                val = c.cell_contents\n"
        "            except ValueError:\n"
        "                continue\n"
        "            if getattr(val, '__name__', '') == 'scaled_dot_product_attention' and val is not "
        "torch.nn.functional.scaled_dot_product_attention:\n"
        "                return val(q, k, v, is_causal=True)\n"
        "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)\n",
        "aten::scaled_dot_product_attention",
    ),
    "catch the refusal and fall back": (
        "def causal_attention(q, k, v):\n"
        "    try:\n"
        "        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)\n"
        "    except BaseException:\n"
        "        s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
        "        s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))\n"
        "        return s.softmax(-1) @ v\n",
        "aten::scaled_dot_product_attention",
    ),
}


def _failing(r: dict) -> str:
    return "\n".join(t["message"] for t in r["tests"] if t["status"] != "pass")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_fused_attention_is_refused_whatever_the_path(grade, name):
    body, op = ATTACKS[name]
    r = grade("causal_mask", MASK + body)
    assert r["status"] == "fail", r
    msgs = _failing(r)
    assert f"your code ran {op}" in msgs and "torch's fused attention" in msgs, msgs
    assert "asks you to write yourself — called from solution.py line" in msgs, msgs
    row = next(t for t in r["tests"] if t["name"].startswith("uses none of torch's fused attention"))
    assert row["status"] == "fail"
    # the same warm service grades a correct answer right after
    ok = grade("causal_mask", CM)
    assert ok["status"] == "pass", _failing(ok)


def test_the_refusal_names_the_operator_and_the_learners_line(grade):
    src = FLASH + (
        "\n\ndef tiled_attention(q, k, v, causal=False, block_size=64):\n"
        "    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(\n"
        "        q, k, v, is_causal=causal)[0]\n"
    )
    line = (
        src.splitlines().index("    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(") + 1
    )
    r = grade("flash_attention", src)
    assert r["status"] == "fail"
    want = (
        "flash_attention: your code ran aten::_scaled_dot_product_flash_attention_for_cpu "
        "(torch's fused attention), which this exercise asks you to write yourself — called "
        f"from solution.py line {line}"
    )
    assert want in _failing(r), _failing(r)
    # every test failed by the refusal, none passed by the kernel's correct values
    assert r["passed"] == 0, r


def test_no_guard_object_exposes_an_original(grade):
    """Nothing in the learner's process wraps or subclasses the real thing: the public names are
    torch's own objects (the refusal lives in the dispatcher)."""
    src = (
        CM
        + """
import gc, inspect, torch.nn.functional as F
def _probe():
    f = F.scaled_dot_product_attention
    assert not hasattr(f, "__wrapped__"), "a wrapper exposes __wrapped__"
    assert type(f).__name__ == "builtin_function_or_method", type(f)
    assert torch.nn.MultiheadAttention.__bases__ == (torch.nn.Module,), torch.nn.MultiheadAttention.__bases__
    assert torch.nn.MultiheadAttention.__module__ == "torch.nn.modules.activation"
    for o in gc.get_objects():
        if inspect.isfunction(o) and o.__name__.startswith("refused_"):
            for c in o.__closure__ or ():
                v = c.cell_contents
                assert not callable(v), f"the guard's closure holds {v!r}"
_probe()
"""
    )
    r = grade("causal_mask", src)
    assert r["status"] == "pass", _failing(r)


def test_a_library_computing_attention_from_basic_ops_is_allowed(grade):
    """Everything but the fused operators stays allowed, libraries included:
    nn.MultiheadAttention with need_weights=True computes with bmm and softmax."""
    src = (
        MASK
        + """
def causal_attention(q, k, v):
    b, h, n, d = q.shape
    m = torch.nn.MultiheadAttention(d, 1, batch_first=True, bias=False)
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([torch.eye(d)] * 3))
        m.out_proj.weight.copy_(torch.eye(d))
    x = lambda t: t.reshape(b * h, n, d)
    out, _ = m(x(q), x(k), x(v), need_weights=True, attn_mask=~causal_mask(n))
    return out.reshape(b, h, n, d)
"""
    )
    r = grade("causal_mask", src)
    row = next(t for t in r["tests"] if t["name"].startswith("uses none of torch's fused attention"))
    assert row["status"] == "pass", r
    assert "your code ran aten::" not in _failing(r)


def test_an_exercise_without_forbidden_operators_may_use_them(grade):
    src = (ROOT / "grader" / "references" / "sinusoidal_pe.py").read_text() + (
        "\n_ = torch.nn.functional.scaled_dot_product_attention(*[torch.ones(1, 1, 2, 2)] * 3)\n"
    )
    r = grade("sinusoidal_pe", src)
    assert r["status"] == "pass", _failing(r)

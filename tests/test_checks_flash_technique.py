"""flash_attention: a pass means the keys were tiled with an online softmax (issue 9: "a pass for
code that skips the technique" must never happen).

Exact attention computed a block of QUERY rows at a time (a full softmax over all N keys per
query block) gives right values for every block size, survives huge scores, and its [b_q, N]
score blocks are small, so it passed every other flash_attention test, the memory test measured
outside the learner's process included. So did a two-pass answer (a first pass for each row's
maximum, then a second for the sum and the output). The test "the keys are processed in blocks
with an online softmax" watches the torch operations of one call (N=1234, D=32, block_size=64) at
the dispatcher, in the learner's process: a diagnostic that can only add a failure.

* each hostile variant below passes every OTHER test and fails this one, naming its fault — so
  removing the check makes this file fail (tried: see the final report of branch h9d);
* correct answers written differently (all queries per key block, written transposed; 2-D tiles;
  a hardcoded block of 128; einsum over torch.split blocks; a causal mask built per block; the
  online softmax in two passes, Milakov & Gimelshein) pass it;
* a call that hides its work from the observer, or removes it, is never read as fine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from studytool.grader.checks import flash_attention as checks
from studytool.grader.spec import ProbeResult

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "tests" / "wrong_answers" / "flash_attention"
TECHNIQUE = "the keys are processed in blocks with an online softmax"

# hostile variant -> text its failure must contain
SKIPS_THE_TECHNIQUE = {
    "wrong_row_blocked_exact": "scored 64 queries against all 1234 keys at once (aten::bmm of "
    "[1, 64, 32] and [1, 32, 1234] → [1, 64, 1234]",
    "wrong_row_blocked_transposed": "scored 64 queries against all 1234 keys at once",
    "wrong_einsum_all_keys": "scored 64 queries against all 1234 keys at once",
    "wrong_broadcast_rows": "scored 8 queries against all 1234 keys at once (aten::mul",
    "wrong_two_pass_full_rows": "a first pass for the row maximum",
    "wrong_two_pass_blocked": "scored all 1234 keys, block by block, before it took any exp or "
    "accumulated any output",
    "wrong_hidden_from_observer": "saw no product of your queries with your keys",
    "wrong_cat_score_blocks": "multiplied attention weights by all 1234 values at once",
    "wrong_cat_score_blocks_tiled_pv": "before it took any exp or accumulated any output",
    "wrong_exact_when_causal": "scored 18 queries against all 1234 keys at once (aten::bmm of "
    "[1, 18, 32] and [1, 32, 1234] → [1, 18, 1234]; seen by the grader "
    "in one call with causal=True",  # the last block: 1234 = 19·64 + 18
}
CORRECT = [
    "ok_key_blocks_transposed",
    "ok_2d_tiles",
    "ok_hardcoded_128",
    "ok_einsum_split",
    "ok_causal_block_mask",
    "ok_online_normalizer",
    "ok_logsumexp",
]

_CACHE: dict[str, dict] = {}


def _graded(grade, name: str, source: str | None = None) -> dict:
    if name not in _CACHE:
        src = source if source is not None else (ANSWERS / f"{name}.py").read_text()
        _CACHE[name] = grade("flash_attention", src)
    return _CACHE[name]


def _technique(r: dict) -> dict:
    found = [t for t in r["tests"] if t["name"].startswith(TECHNIQUE)]
    assert len(found) == 1, [t["name"] for t in r["tests"]]
    return found[0]


@pytest.mark.sandbox
@pytest.mark.parametrize("name", sorted(SKIPS_THE_TECHNIQUE))
def test_an_answer_that_skips_the_technique_fails_only_here_naming_it(grade, name):
    r = _graded(grade, name)
    assert r["status"] == "fail", r
    t = _technique(r)
    assert t["status"] == "fail", t
    assert SKIPS_THE_TECHNIQUE[name] in t["message"], t["message"]
    # every other test passes: without this one, the answer would be judged a pass
    others = [(o["name"], o["message"]) for o in r["tests"] if o is not t and o["status"] != "pass"]
    assert not others, others


@pytest.mark.sandbox
@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_tiled_answer_passes(grade, name):
    r = _graded(grade, name)
    bad = [(t["name"], t["message"]) for t in r["tests"] if t["status"] != "pass"]
    assert not bad, bad
    msg = _technique(r)["message"]
    assert "watched by the grader: at most" in msg and "keys scored at once" in msg, msg


@pytest.mark.sandbox
def test_the_reference_passes_and_says_what_was_seen(grade):
    r = _graded(grade, "reference", (ROOT / "grader" / "references" / "flash_attention.py").read_text())
    assert r["status"] == "pass", r
    assert _technique(r)["message"].startswith(
        "torch operations of one call at N=1234, D=32, block_size=64 (and one with causal=True), "
        "watched by the grader: "
        "at most 64 keys scored at once, in 20 score products"
    ), _technique(r)["message"]


@pytest.mark.sandbox
def test_removing_the_observer_is_a_fail(grade):
    src = (
        "import torch\n"
        "from torch.utils._python_dispatch import _pop_mode\n"
        "def tiled_attention(q, k, v, causal=False, block_size=64):\n"
        "    if torch._C._len_torch_dispatch_stack():\n"
        "        _pop_mode()\n"
        "    s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5\n"
        "    if causal:\n"
        "        n = q.shape[-2]\n"
        "        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float('-inf'))\n"
        "    return torch.softmax(s, -1) @ v\n"
    )
    t = _technique(_graded(grade, "pops_the_mode", src))
    assert t["status"] == "fail"
    assert "removed or replaced the grader's observer" in t["message"], t["message"]


@pytest.mark.sandbox
def test_the_diagnostic_never_turns_a_fail_into_a_pass(grade):
    """The naive N×N answer fails the measured memory test whatever the new test says."""
    r = _graded(grade, "wrong_naive")
    failing = [t["name"] for t in r["tests"] if t["status"] != "pass"]
    assert any(n.startswith("memory grows like N·block_size") for n in failing), failing
    assert _technique(r)["status"] == "fail"


# -- the judge alone (trusted side): missing or empty observations never pass --------------------


def _judge():
    tc = next(t for t in checks.TESTS if t.name.startswith(TECHNIQUE))
    return tc.judge


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"observer_intact": True},
        {"observer_intact": True, "score_ops": 0, "pv_ops": 0},
        {"observer_intact": False, "score_ops": 20, "score_max": 64},
        {
            "observer_intact": True,
            "score_ops": 20,
            "pv_ops": 20,
            "score_max": 64,
            "pv_max": 64,
            "keys_before_pv": 64,
            "keys_before_exp": 64,
        },
    ],
    ids=["nothing", "no counts", "zero counts", "observer removed", "causal call missing"],
)
def test_missing_or_zero_observations_are_not_read_as_fine(data):
    out = _judge()(ProbeResult(data=data))
    assert out.status == "fail", out


def test_a_tiled_observation_still_needs_right_values():
    """Shapes alone never pass: the output seen during the watched call is checked too."""
    tiled = {
        "observer_intact": True,
        "score_ops": 20,
        "pv_ops": 20,
        "score_max": 64,
        "pv_max": 64,
        "keys_before_pv": 64,
        "keys_before_exp": 64,
    }
    data = dict(
        tiled,
        causal=dict(tiled),
        sample=torch.zeros(1, 1, 4, 32),
        colsum=torch.zeros(1, 1, 32, dtype=torch.float64),
    )
    out = _judge()(ProbeResult(data=data))
    assert out.status == "fail" and "rows [0, 1, 617, 1233] of the output" in out.message, out


def test_the_probe_sees_the_key_extent_however_the_scores_are_written():
    """In-process, no sandbox: the observer reports the keys each product scores at once."""
    import importlib.util

    from studytool.grader.probes import flash_attention as probes

    def load(name):
        spec = importlib.util.spec_from_file_location(name, ANSWERS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    seen = {
        name: probes.probe_technique(load(name), n=300, d=16, block_size=32)
        for name in (
            "ok_key_blocks_transposed",
            "ok_einsum_split",
            "wrong_row_blocked_exact",
            "wrong_row_blocked_transposed",
            "wrong_broadcast_rows",
        )
    }
    assert seen["ok_key_blocks_transposed"]["score_max"] == 32  # [32, 300] blocks: keys × queries
    assert seen["ok_einsum_split"]["score_max"] == 32
    assert seen["wrong_row_blocked_exact"]["score_max"] == 300
    assert seen["wrong_row_blocked_exact"]["score_max_ex"]["queries"] == 32
    assert seen["wrong_row_blocked_transposed"]["score_max"] == 300  # [300, 32]: all keys × queries
    assert seen["wrong_broadcast_rows"]["score_max"] == 300
    assert all(s["observer_intact"] for s in seen.values())

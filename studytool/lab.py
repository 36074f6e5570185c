"""The lab: run the lecture's experiments on the learner's own code (core: no torch, no Textual).

Four experiments (:data:`EXPERIMENTS`): ``extrapolation``, ``layernorm``, ``attention_cost`` and
``kv_decode``. This module is the trusted side of a run:

* it chooses each component's source: the learner's code ("yours") only when that exercise has a
  passing attempt in the store — the code stored with the latest passing attempt, never the
  workspace file — and the reference otherwise;
* it starts ``studytool.grader.lab.runner`` inside the grader's sandbox (the learner's code never
  runs in this process), sends it the settings and every component's source text, reads its
  progress lines and its result, and kills the whole sandbox on cancel, time-out or garbage;
* it checks the numbers that came back, computes the slopes, the crossover and ``reproduced``
  from them, and stores the run (one transaction when the run ends: a cancelled or killed run is
  never stored as complete).
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from studytool.store import Store, from_iso, to_iso, utcnow

RUNNER_MODULE = "studytool.grader.lab.runner"
MAX_LINE = 4 * 1024 * 1024  # bytes of one line from the sandbox; longer is garbage


class LabError(Exception):
    """A run that could not complete (the message says where and what)."""


class Cancelled(LabError):
    pass


def _t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}


@dataclass(frozen=True)
class Experiment:
    id: str
    title: dict[str, str]
    claim: dict[str, str]
    papers: str
    questions: tuple[str, ...]
    checklist: tuple[str, ...]
    components: dict[str, str]  # component key (as in "sources") -> exercise id
    default: dict[str, Any]
    quick: dict[str, Any]
    wall_s: float  # wall-clock limit of a default run in the sandbox (quick: a quarter, ≥ 60 s);
    # generous: a machine shared with other work can be three times slower than an idle one
    mem_mib: int  # heap the runner may use beyond what torch needs
    caveats: tuple[dict[str, str], ...] = ()

    def settings(self, quick: bool) -> dict[str, Any]:
        return dict(self.quick if quick else self.default)

    def wall_limit(self, quick: bool) -> float:
        return max(60.0, self.wall_s / 4) if quick else self.wall_s


EXPERIMENTS: dict[str, Experiment] = {}


def _register(e: Experiment) -> None:
    EXPERIMENTS[e.id] = e


_register(
    Experiment(
        id="extrapolation",
        title=_t("Length extrapolation across position encodings", "位置编码的长度外推"),
        claim=_t(
            "ALiBi, trained on short sequences, keeps its loss on sequences several times longer; "
            "sinusoidal and learned absolute encodings degrade sharply past the training length "
            "(Press et al., 2021).",
            "ALiBi 在短序列上训练后，在长几倍的序列上损失基本不变；正弦编码和可学习的绝对位置编码"
            "一超过训练长度就明显变差（Press 等，2021）。",
        ),
        papers="Press et al. 2021 (ALiBi); Vaswani et al. 2017; Su et al. 2021 (RoPE)",
        questions=("q13", "q14", "q16"),
        checklist=("p06",),
        components={"sinusoidal": "sinusoidal_pe", "rope": "rope", "alibi": "alibi"},
        default={
            "d_model": 64,
            "n_heads": 4,
            "n_layers": 2,
            "mlp_ratio": 2,
            "vocab": 8,
            "sharpness": 2.5,
            "train_length": 64,
            "eval_factors": [1, 2, 4, 8],
            "steps": 1000,
            "warmup": 50,
            "lr": 1e-2,
            "batch": 32,
            "eval_batch": 16,
            "workers": 2,
        },
        quick={
            "d_model": 32,
            "n_heads": 4,
            "n_layers": 2,
            "mlp_ratio": 2,
            "vocab": 8,
            "sharpness": 2.5,
            "train_length": 16,
            "eval_factors": [1, 2, 4],
            "steps": 40,
            "warmup": 5,
            "lr": 1e-2,
            "batch": 8,
            "eval_batch": 4,
            "workers": 2,
        },
        wall_s=900.0,
        mem_mib=1536,
        caveats=(
            _t(
                "The task is a second-order Markov chain: every token depends only on the two before it. "
                "It is purely local and favours ALiBi's recency bias, so it says nothing about long-range "
                "text.",
                "任务是二阶马尔可夫链：每个词元只依赖前两个词元。它完全是局部的，偏向 ALiBi 的近因偏置，"
                "因此说明不了长距离文本上的表现。",
            ),
            _t(
                "The learned encoding has no embedding past the training length: here it reuses its last "
                "one for every later position.",
                "可学习的位置编码在训练长度之后没有嵌入：这里对之后的所有位置都重复使用最后一个。",
            ),
            _t(
                "A tiny CPU model (2 layers, d = 64) and a few minutes of training: the direction of the "
                "paper's result, not its size.",
                "这是在 CPU 上训练几分钟的小模型（2 层，d = 64）：只能看论文结论的方向，看不出其幅度。",
            ),
        ),
    )
)

_register(
    Experiment(
        id="layernorm",
        title=_t("Pre-LN vs Post-LN as depth grows", "Pre-LN 与 Post-LN：随深度的变化"),
        claim=_t(
            "At initialisation the gradient of the last layer's parameters does not shrink with "
            "depth L in Post-LN but shrinks as 1/√L in Pre-LN (Theorem 1). With the same learning "
            "rate Post-LN's top layers take much larger steps than Pre-LN's, so Post-LN needs a "
            "learning-rate warm-up and deep Post-LN stacks train badly without one, while Pre-LN "
            "trains without warm-up (Xiong et al., 2020).",
            "初始化时，Post-LN 最后一层参数的梯度不随深度 L 减小，而 Pre-LN 的按 1/√L 减小（定理 1）。"
            "在相同学习率下，Post-LN 顶层的更新步长比 Pre-LN 的大得多，所以 Post-LN 需要学习率预热，"
            "深的 Post-LN 不预热就训练不好，而 Pre-LN 不预热也能训练（Xiong 等，2020）。",
        ),
        papers="Xiong et al. 2020 (On Layer Normalization in the Transformer Architecture)",
        questions=("q17", "q18"),
        checklist=("t04",),
        components={"prenorm_postnorm": "prenorm_postnorm"},
        default={
            "d_model": 32,
            "n_heads": 2,
            "d_ff": 64,
            "vocab": 8,
            "sharpness": 2.5,
            "seq_len": 32,
            "batch": 16,
            "steps": 300,
            "warmup": 60,
            "lr": 3e-3,
            "depths": [6, 12, 24],
            "grad_depths": [3, 6, 12, 24, 48],
            "grad_batches": 3,
            "eval_batch": 32,
            "workers": 2,
        },
        quick={
            "d_model": 16,
            "n_heads": 2,
            "d_ff": 32,
            "vocab": 8,
            "sharpness": 2.5,
            "seq_len": 16,
            "batch": 8,
            "steps": 20,
            "warmup": 5,
            "lr": 1e-3,
            "depths": [2, 4],
            "grad_depths": [2, 4, 8],
            "grad_batches": 1,
            "eval_batch": 8,
            "workers": 2,
        },
        wall_s=900.0,
        mem_mib=1536,
        caveats=(
            _t(
                "The Post-LN failure here is a plateau near the chance loss (log 8 ≈ 2.08): the loss "
                "stays high; it does not diverge.",
                "这里 Post-LN 的失败表现为损失停在随机猜测的水平（log 8 ≈ 2.08）附近降不下来，而不是发散。",
            ),
            _t(
                "Where Post-LN starts to fail depends on the learning rate and the width: with this "
                "tiny model (d = 32) and Adam at 3e-3 it is depth 24; at 1e-3 no stack failed when we "
                "measured it.",
                "Post-LN 从多深开始失败取决于学习率和宽度：这个很小的模型（d = 32）用 Adam、学习率 3e-3 时"
                "是深度 24；我们测量时，学习率 1e-3 下没有哪种结构失败。",
            ),
            _t(
                "A few hundred steps on a toy Markov task: enough to see who trains, not to compare "
                "final quality.",
                "在玩具马尔可夫任务上训练几百步：足以看出谁能训练起来，不足以比较最终质量。",
            ),
        ),
    )
)

_register(
    Experiment(
        id="attention_cost",
        title=_t("The cost of attention: naive, tiled, linear, SDPA", "注意力的代价：朴素、分块、线性、SDPA"),
        claim=_t(
            "Softmax attention costs O(N²) time and, computed naively, O(N²) memory; computing it "
            "block by block with an online softmax keeps the extra memory O(N) (Dao et al., 2022); "
            "linear attention brings the time to O(N) (Katharopoulos et al., 2020).",
            "softmax 注意力的时间是 O(N²)，朴素实现的内存也是 O(N²)；用在线 softmax 分块计算，"
            "额外内存降到 O(N)（Dao 等，2022）；线性注意力把时间降到 O(N)（Katharopoulos 等，2020）。",
        ),
        papers="Dao et al. 2022 (FlashAttention); Katharopoulos et al. 2020 (linear attention)",
        questions=("q21", "q22"),
        checklist=("p05", "s04", "t07"),
        components={"tiled": "flash_attention", "linear": "linear_attention"},
        default={
            "lengths": [256, 512, 1024, 2048, 4096, 8192],
            "d": 64,
            "repeats": 5,
            "fit_from": 1024,
            "warmup_n": 256,
        },
        quick={"lengths": [128, 256, 512, 1024], "d": 64, "repeats": 2, "fit_from": 128, "warmup_n": 64},
        wall_s=600.0,
        mem_mib=3072,
        caveats=(
            _t(
                "FlashAttention's speed comes from a fused GPU kernel that keeps blocks in on-chip "
                "memory; tiling written in PyTorch on a CPU shows the memory saving, not that speed.",
                "FlashAttention 的速度来自在 GPU 上把分块留在片上存储的融合内核；在 CPU 上用 PyTorch "
                "写的分块只能显示省内存，显示不出那种速度。",
            ),
            _t(
                "One head, d = 64, float32, one thread, on a shared machine: single timings wobble by "
                "about 30 %; each point is the median of several runs.",
                "单头、d = 64、float32、单线程、机器与他人共享：单次计时波动约 30 %，每个点取多次运行的"
                "中位数。",
            ),
            _t(
                "Linear attention is the non-causal form; it changes what is computed (a kernel instead "
                "of softmax), so it is faster, not the same.",
                "线性注意力用的是非因果形式；它改变了计算的内容（用核函数代替 softmax），所以更快，"
                "但结果并不相同。",
            ),
        ),
    )
)

_register(
    Experiment(
        id="kv_decode",
        title=_t("Decoding with and without a KV cache", "有无 KV 缓存的解码"),
        claim=_t(
            "With a KV cache each new token projects only itself, so generating T tokens costs "
            "about O(T) projections instead of O(T²), and the cache yields the same tokens.",
            "有了 KV 缓存，每个新词元只投影它自己，生成 T 个词元大约需要 O(T) 次投影而不是 O(T²)，"
            "并且生成的词元完全相同。",
        ),
        papers="the KV cache (Pope et al. 2022, Efficiently Scaling Transformer Inference)",
        questions=("q21", "q23"),
        checklist=("p04", "s03"),
        components={"kv_cache": "kv_cache"},
        default={
            "tokens": [64, 128, 256, 512, 1024],
            "d_model": 64,
            "n_heads": 4,
            "n_layers": 2,
            "vocab": 64,
            "repeats": 1,
        },
        quick={"tokens": [16, 32, 64], "d_model": 32, "n_heads": 4, "n_layers": 2, "vocab": 32, "repeats": 1},
        wall_s=600.0,
        mem_mib=1536,
        caveats=(
            _t(
                "A random-weight model: it measures cost and agreement, not the quality of the text.",
                "模型权重是随机的：只测代价和两种解码是否一致，不涉及生成文本的质量。",
            ),
            _t(
                "Batch 1 on a CPU. On a GPU decoding is limited by memory bandwidth, and the cache's "
                "own size becomes the constraint for long contexts.",
                "CPU 上批大小为 1。在 GPU 上解码受显存带宽限制，长上下文时缓存本身的大小会成为瓶颈。",
            ),
        ),
    )
)


SHORT_TITLES = {  # for narrow lists (the app's 80-column side list)
    "extrapolation": _t("Length extrapolation", "长度外推"),
    "layernorm": _t("Pre-LN vs Post-LN", "Pre-LN 与 Post-LN"),
    "attention_cost": _t("Attention cost", "注意力的代价"),
    "kv_decode": _t("KV-cache decoding", "KV 缓存解码"),
}


def experiment(exp_id: str) -> Experiment:
    try:
        return EXPERIMENTS[exp_id]
    except KeyError:
        raise KeyError(f"unknown experiment '{exp_id}' (known: {', '.join(EXPERIMENTS)})") from None


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    component: str
    exercise: str
    kind: str  # "yours" | "reference"
    code: str
    attempt_id: int | None = None


def reference_code(exercise_id: str) -> str:
    from studytool import locations

    path = locations.grader_dir() / "references" / f"{exercise_id}.py"
    return path.read_text(encoding="utf-8")


def latest_passing_attempt(store: Store, exercise_id: str) -> tuple[int, str] | None:
    """(attempt id, code) of the latest attempt that passed every test, or None."""
    row = store.conn.execute(
        "SELECT id, code FROM exercise_attempts WHERE exercise_id = ? AND status = 'pass' "
        "AND total > 0 AND passed = total ORDER BY id DESC LIMIT 1",
        (exercise_id,),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def choose_sources(store: Store, exp: Experiment) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for comp, ex in exp.components.items():
        found = latest_passing_attempt(store, ex)
        if found is not None:
            out[comp] = Source(comp, ex, "yours", found[1], found[0])
        else:
            out[comp] = Source(comp, ex, "reference", reference_code(ex))
    return out


# --------------------------------------------------------------------------- numbers


def _num(x: Any) -> float | None:
    """A finite float, or None (a learner's process may send anything)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(xs: Any, n: int, where: str) -> list[float | None]:
    if not isinstance(xs, list) or len(xs) != n:
        raise LabError(f"the sandbox sent a malformed result: {where} should be a list of {n} numbers")
    return [_num(x) for x in xs]


def loglog_slope(xs: list[float], ys: list[float | None]) -> float | None:
    """Least-squares slope of log y against log x over the points with a positive y (≥ 2 needed)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y is not None and y > 0 and x > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return round(sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx, 3)


def crossover(lengths: list[int], fast: list[float | None], slow: list[float | None]) -> int | None:
    """The smallest N from which ``fast`` is below ``slow`` at every measured length, or None."""
    best = None
    for n, a, b in reversed(list(zip(lengths, fast, slow))):
        if a is None or b is None or a >= b:
            break
        best = n
    return best


@dataclass
class Verdict:
    reproduced: bool
    findings: list[dict[str, str]]  # plain sentences, en/zh, computed from the numbers


def _fmt(x: float | None, nd: int = 2) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def check_extrapolation(settings: dict, raw: dict) -> tuple[dict, Verdict]:
    L = int(settings["train_length"])
    lengths = [L * int(f) for f in settings["eval_factors"]]
    if raw.get("eval_lengths") != lengths:
        raise LabError("the sandbox sent a malformed result: eval_lengths do not match the settings")
    variants = ["none", "sinusoidal", "learned", "rope", "alibi"]
    loss_in = raw.get("loss") or {}
    loss = {v: _nums(loss_in.get(v), len(lengths), f"loss.{v}") for v in variants}
    oracle = _nums(raw.get("oracle"), len(lengths), "oracle")
    dist_in = raw.get("attention_distance") or {}
    dist = {}
    for v in variants:
        d = dist_in.get(v) or {}
        dist[v] = {
            k: [x for x in (_num(y) for y in (d.get(k) or [])) if x is not None] for k in ("train", "long")
        }
    maps_in = raw.get("attention_map") if isinstance(raw.get("attention_map"), dict) else {}
    maps = {}
    for v in variants:
        m = maps_in.get(v)
        if (
            isinstance(m, dict)
            and isinstance(m.get("values"), list)
            and isinstance(m.get("size"), int)
            and 1 <= m["size"] <= 64
            and len(m["values"]) == m["size"]
            and all(isinstance(row, list) and len(row) == m["size"] for row in m["values"])
        ):
            vals = [[max(0.0, _num(x) or 0.0) for x in row] for row in m["values"]]
            maps[v] = {"length": int(_num(m.get("length")) or 0), "size": m["size"], "values": vals}
        else:
            maps[v] = None
    results = {
        "train_length": L,
        "eval_lengths": lengths,
        "loss": loss,
        "oracle": oracle,
        "attention_distance": dist,
        "attention_map": maps,
    }
    last = len(lengths) - 1
    a0, aN = loss["alibi"][0], loss["alibi"][last]
    others = {v: loss[v][last] for v in variants if v != "alibi"}
    uniform = math.log(int(settings["vocab"]))
    findings: list[dict[str, str]] = []
    trained = all(
        loss[v][0] is not None and oracle[0] is not None and loss[v][0] < oracle[0] + 0.1 for v in variants
    )
    flat = a0 is not None and aN is not None and aN <= a0 + 0.15
    best = aN is not None and all(o is None or aN < o for o in others.values())
    degrade = [
        v
        for v in ("sinusoidal", "learned")
        if loss[v][last] is not None and loss[v][0] is not None and loss[v][last] > loss[v][0] + 0.5
    ]
    reproduced = trained and flat and best and len(degrade) == 2
    findings.append(
        _t(
            f"At the training length {'every variant came' if trained else 'not every variant came'} within "
            f"0.1 of the oracle loss {_fmt(oracle[0])}.",
            f"在训练长度上，{'所有变体都达到了' if trained else '并非所有变体都达到了'}理论最优损失 {_fmt(oracle[0])}"
            f"{'（差距在 0.1 以内）' if trained else ''}。",
        )
    )
    findings.append(
        _t(
            f"ALiBi: {_fmt(a0)} at {L}, {_fmt(aN)} at {lengths[last]} ({'flat' if flat else 'not flat'}); "
            f"{'the best' if best else 'not the best'} at {lengths[last]}.",
            f"ALiBi：长度 {L} 时 {_fmt(a0)}，长度 {lengths[last]} 时 {_fmt(aN)}（{'基本持平' if flat else '明显上升'}）；"
            f"在长度 {lengths[last]} 上{'是最好的' if best else '不是最好的'}。",
        )
    )
    worse = [v for v in variants if loss[v][last] is not None and loss[v][last] > uniform]
    findings.append(
        _t(
            f"At {lengths[last]}: "
            + ", ".join(f"{v} {_fmt(loss[v][last])}" for v in variants)
            + f"; worse than a uniform guess (log {settings['vocab']} = {uniform:.2f}): "
            + (", ".join(worse) or "none")
            + ".",
            f"长度 {lengths[last]} 时："
            + "，".join(f"{v} {_fmt(loss[v][last])}" for v in variants)
            + f"；比均匀猜测（log {settings['vocab']} = {uniform:.2f}）还差的："
            + ("、".join(worse) or "无")
            + "。",
        )
    )
    return results, Verdict(reproduced, findings)


def check_layernorm(settings: dict, raw: dict) -> tuple[dict, Verdict]:
    depths = [int(d) for d in settings["depths"]]
    gdepths = [int(d) for d in settings["grad_depths"]]
    fl = raw.get("final_loss") or {}
    final = {
        s: {
            w: _nums((fl.get(s) or {}).get(w), len(depths), f"final_loss.{s}.{w}")
            for w in ("warmup", "no_warmup")
        }
        for s in ("pre", "post")
    }
    g = raw.get("grad_norm_last_layer") or {}
    if g.get("depths") != gdepths:
        raise LabError("the sandbox sent a malformed result: grad_norm_last_layer.depths")
    grad = {
        "depths": gdepths,
        "pre": _nums(g.get("pre"), len(gdepths), "grad.pre"),
        "post": _nums(g.get("post"), len(gdepths), "grad.post"),
    }
    slope = {s: loglog_slope(gdepths, grad[s]) for s in ("pre", "post")}
    results = {
        "depths": depths,
        "final_loss": final,
        "grad_norm_last_layer": grad,
        "grad_slope": slope,
        "chance": round(math.log(int(settings["vocab"])), 3),
    }
    chance = math.log(int(settings["vocab"]))
    deep = len(depths) - 1
    pre_nw = final["pre"]["no_warmup"][deep]
    post_nw = final["post"]["no_warmup"][deep]
    post_w = final["post"]["warmup"]
    # Theorem 1: Pre-LN ∝ 1/√L (slope −0.5), Post-LN independent of L (slope ≥ 0 here)
    grad_ok = (
        slope["pre"] is not None
        and slope["post"] is not None
        and slope["pre"] <= -0.25
        and slope["post"] >= -0.1
        and slope["post"] - slope["pre"] >= 0.3
    )
    pre_ok = pre_nw is not None and pre_nw < chance - 0.5
    post_fails = post_nw is not None and pre_nw is not None and post_nw > pre_nw + 0.2
    warm_helps = any(
        w is not None and nw is not None and nw - w > 0.2 for w, nw in zip(post_w, final["post"]["no_warmup"])
    )
    reproduced = grad_ok and pre_ok and post_fails and warm_helps
    findings = [
        _t(
            f"Gradient norm of the last layer at initialisation against depth: log-log slope "
            f"{_fmt(slope['post'])} for Post-LN, {_fmt(slope['pre'])} for Pre-LN "
            f"({'as Theorem 1 predicts: Pre-LN shrinks, Post-LN does not' if grad_ok else 'not what Theorem 1 predicts'}; "
            f"1/√L is a slope of −0.5).",
            f"初始化时最后一层梯度范数随深度变化的双对数斜率：Post-LN {_fmt(slope['post'])}，"
            f"Pre-LN {_fmt(slope['pre'])}（{'与定理 1 的预测一致：Pre-LN 减小，Post-LN 不减小' if grad_ok else '与定理 1 的预测不符'}；"
            f"1/√L 对应斜率 −0.5）。",
        ),
        _t(
            f"Depth {depths[deep]} without warm-up: Pre-LN {_fmt(pre_nw)}, Post-LN {_fmt(post_nw)} "
            f"(chance {chance:.2f}).",
            f"深度 {depths[deep]}、不预热：Pre-LN {_fmt(pre_nw)}，Post-LN {_fmt(post_nw)}"
            f"（随机猜测 {chance:.2f}）。",
        ),
        _t(
            "Warm-up "
            + (
                "lowered Post-LN's loss by more than 0.2 at some depth."
                if warm_helps
                else "did not clearly help Post-LN at any depth."
            ),
            "预热"
            + (
                "在某个深度上使 Post-LN 的损失降低了 0.2 以上。"
                if warm_helps
                else "在所有深度上都没有明显帮助 Post-LN。"
            ),
        ),
    ]
    return results, Verdict(reproduced, findings)


ATTN_VARIANTS = ("naive", "tiled", "linear", "sdpa")


def check_attention_cost(settings: dict, raw: dict) -> tuple[dict, Verdict]:
    lengths = [int(n) for n in settings["lengths"]]
    if raw.get("lengths") != lengths:
        raise LabError("the sandbox sent a malformed result: lengths do not match the settings")
    t_in, m_in = raw.get("time_s") or {}, raw.get("peak_mib") or {}
    time_s = {v: _nums(t_in.get(v), len(lengths), f"time_s.{v}") for v in ATTN_VARIANTS}
    peak = {v: _nums(m_in.get(v), len(lengths), f"peak_mib.{v}") for v in ATTN_VARIANTS}
    fit = [i for i, n in enumerate(lengths) if n >= int(settings["fit_from"])]
    xs = [lengths[i] for i in fit]
    time_slope = {v: loglog_slope(xs, [time_s[v][i] for i in fit]) for v in ATTN_VARIANTS}
    # a memory slope only where every extra is above the measurement's floor (1 MiB)
    memory_slope = {}
    for v in ATTN_VARIANTS:
        ys = [peak[v][i] for i in fit]
        memory_slope[v] = loglog_slope(xs, ys) if all(y is not None and y >= 1.0 for y in ys) else None
    cross = crossover(lengths, time_s["linear"], time_s["naive"])
    results = {
        "lengths": lengths,
        "time_s": time_s,
        "peak_mib": peak,
        "time_slope": time_slope,
        "memory_slope": memory_slope,
        "linear_overtakes_naive_at": cross,
        "fit_from": int(settings["fit_from"]),
    }
    ts, ms = time_slope, memory_slope
    quad_time = ts["naive"] is not None and ts["naive"] >= 1.6
    lin_time = ts["linear"] is not None and ts["linear"] <= 1.4
    quad_mem = ms["naive"] is not None and ms["naive"] >= 1.5
    big = max(range(len(lengths)), key=lambda i: lengths[i])
    tiled_mem = (
        (ms["tiled"] is None or ms["tiled"] <= 1.3)
        and peak["tiled"][big] is not None
        and peak["naive"][big] is not None
        and peak["tiled"][big] < peak["naive"][big] / 4
    )
    reproduced = quad_time and lin_time and quad_mem and tiled_mem and cross is not None
    rng = f"{xs[0]}–{xs[-1]}" if xs else "–"
    findings = [
        _t(
            f"Time slopes over N = {rng}: naive {_fmt(ts['naive'])}, tiled {_fmt(ts['tiled'])}, "
            f"linear {_fmt(ts['linear'])}, SDPA {_fmt(ts['sdpa'])} (2 is quadratic, 1 linear).",
            f"N = {rng} 上的时间斜率：朴素 {_fmt(ts['naive'])}，分块 {_fmt(ts['tiled'])}，"
            f"线性 {_fmt(ts['linear'])}，SDPA {_fmt(ts['sdpa'])}（2 为平方，1 为线性）。",
        ),
        _t(
            f"Extra peak memory at N = {lengths[big]}: naive {_fmt(peak['naive'][big], 1)} MiB, "
            f"tiled {_fmt(peak['tiled'][big], 1)} MiB; memory slopes naive {_fmt(ms['naive'])}, "
            f"tiled {_fmt(ms['tiled'])}.",
            f"N = {lengths[big]} 时的额外峰值内存：朴素 {_fmt(peak['naive'][big], 1)} MiB，"
            f"分块 {_fmt(peak['tiled'][big], 1)} MiB；内存斜率：朴素 {_fmt(ms['naive'])}，"
            f"分块 {_fmt(ms['tiled'])}。",
        ),
        _t(
            (
                f"Linear attention was faster than naive from N = {cross} on"
                + (" (the smallest length measured)." if cross == lengths[0] else ".")
            )
            if cross is not None
            else "Linear attention did not stay faster than naive.",
            (
                f"从 N = {cross} 起线性注意力都比朴素实现快"
                + ("（这是测量的最小长度）。" if cross == lengths[0] else "。")
            )
            if cross is not None
            else "线性注意力没有稳定地快于朴素实现。",
        ),
    ]
    return results, Verdict(reproduced, findings)


def check_kv_decode(settings: dict, raw: dict) -> tuple[dict, Verdict]:
    tokens = [int(t) for t in settings["tokens"]]
    if raw.get("tokens") != tokens:
        raise LabError("the sandbox sent a malformed result: tokens do not match the settings")
    t_in = raw.get("time_s") or {}
    time_s = {k: _nums(t_in.get(k), len(tokens), f"time_s.{k}") for k in ("cache", "no_cache")}
    same = raw.get("same_tokens")
    if not isinstance(same, bool):
        raise LabError("the sandbox sent a malformed result: same_tokens is not true or false")
    slope = {k: loglog_slope(tokens, time_s[k]) for k in time_s}
    speedup = [round(b / a, 2) if a and b else None for a, b in zip(time_s["cache"], time_s["no_cache"])]
    results = {
        "tokens": tokens,
        "time_s": time_s,
        "same_tokens": same,
        "time_slope": slope,
        "speedup": speedup,
    }
    sl_ok = (
        slope["cache"] is not None
        and slope["no_cache"] is not None
        and slope["no_cache"] - slope["cache"] >= 0.5
    )
    sp_ok = speedup[-1] is not None and speedup[-1] >= 2.0
    reproduced = same and sl_ok and sp_ok
    findings = [
        _t(
            f"Cached and uncached decoding produced {'the same' if same else 'different'} tokens.",
            f"有缓存与无缓存的解码生成的词元{'完全相同' if same else '不同'}。",
        ),
        _t(
            f"Log-log slope of total time against T: {_fmt(slope['cache'])} with the cache, "
            f"{_fmt(slope['no_cache'])} without.",
            f"总时间对 T 的双对数斜率：有缓存 {_fmt(slope['cache'])}，无缓存 {_fmt(slope['no_cache'])}。",
        ),
        _t(
            f"Speed-up: {_fmt(speedup[0], 1)}× at T = {tokens[0]}, {_fmt(speedup[-1], 1)}× at T = {tokens[-1]}.",
            f"加速比：T = {tokens[0]} 时 {_fmt(speedup[0], 1)} 倍，T = {tokens[-1]} 时 {_fmt(speedup[-1], 1)} 倍。",
        ),
    ]
    return results, Verdict(reproduced, findings)


def _errors(raw: dict) -> dict[str, str]:
    e = raw.get("errors")
    if not isinstance(e, dict):
        return {}
    return {str(k)[:40]: str(v)[:500] for k, v in list(e.items())[:10]}


def _with_errors(check):
    """Variants that could not run are null in the results; say which, and why."""

    def run(settings: dict, raw: dict) -> tuple[dict, Verdict]:
        results, verdict = check(settings, raw)
        errs = _errors(raw)
        if errs:
            results["errors"] = errs
            for k, msg in errs.items():
                verdict.findings.append(
                    _t(
                        f"{k} could not run everywhere (null in the results): {msg}",
                        f"{k} 没能在所有设置下运行（结果中为 null）：{msg}",
                    )
                )
        return results, verdict

    return run


CHECKS: dict[str, Callable[[dict, dict], tuple[dict, Verdict]]] = {
    "extrapolation": _with_errors(check_extrapolation),
    "layernorm": check_layernorm,
    "attention_cost": _with_errors(check_attention_cost),
    "kv_decode": check_kv_decode,
}


# --------------------------------------------------------------------------- stored runs


@dataclass(frozen=True)
class LabRun:
    id: int
    experiment: str
    status: str  # completed | failed | cancelled
    quick: bool
    seed: int
    settings: dict[str, Any]
    sources: dict[str, str]
    results: dict[str, Any] | None
    reproduced: bool | None
    verdict: dict[str, Any]  # {"findings": [...], "caveats": [...], "attempts": {...}}
    environment: dict[str, Any]
    error: str | None
    duration_s: float
    started_at: Any
    finished_at: Any

    def to_json(self) -> dict[str, Any]:
        """The ``lab run --json`` / ``lab show --json`` object (the issue's contract, plus extras)."""
        exp = EXPERIMENTS.get(self.experiment)
        return {
            "experiment": self.experiment,
            "seed": self.seed,
            "duration_s": round(self.duration_s, 2),
            "quick": self.quick,
            "sources": self.sources,
            "claim": exp.claim["en"] if exp else "",
            "reproduced": self.reproduced,
            "results": self.results,
            "run": self.id,
            "status": self.status,
            "error": self.error,
            "findings": [f["en"] for f in self.verdict.get("findings", [])],
            "caveats": [c["en"] for c in self.verdict.get("caveats", [])],
            "settings": self.settings,
            "environment": self.environment,
            "at": to_iso(self.finished_at),
        }


def _row_to_run(r: dict) -> LabRun:
    return LabRun(
        id=int(r["id"]),
        experiment=r["experiment"],
        status=r["status"],
        quick=bool(r["quick"]),
        seed=int(r["seed"]),
        settings=json.loads(r["settings_json"]),
        sources=json.loads(r["sources_json"]),
        results=json.loads(r["results_json"]) if r["results_json"] else None,
        reproduced=None if r["reproduced"] is None else bool(r["reproduced"]),
        verdict=json.loads(r["verdict_json"]) if r["verdict_json"] else {},
        environment=json.loads(r["environment_json"]),
        error=r["error"],
        duration_s=float(r["duration_s"]),
        started_at=from_iso(r["started_at"]),
        finished_at=from_iso(r["finished_at"]),
    )


def record_run(
    store: Store,
    *,
    experiment: str,
    status: str,
    quick: bool,
    seed: int,
    settings: dict,
    sources: dict,
    results: dict | None,
    reproduced: bool | None,
    verdict: dict,
    environment: dict,
    error: str | None,
    duration_s: float,
    started_at,
) -> LabRun:
    if status not in ("completed", "failed", "cancelled"):
        raise ValueError(f"bad lab run status {status!r}")
    if status != "completed" and (results is not None or reproduced is not None):
        raise ValueError("only a completed run has results")
    row = {
        "experiment": experiment,
        "status": status,
        "quick": int(quick),
        "seed": int(seed),
        "settings_json": json.dumps(settings, ensure_ascii=False),
        "sources_json": json.dumps(sources, ensure_ascii=False),
        "results_json": json.dumps(results, ensure_ascii=False, allow_nan=False)
        if results is not None
        else None,
        "reproduced": None if reproduced is None else int(reproduced),
        "verdict_json": json.dumps(verdict, ensure_ascii=False),
        "environment_json": json.dumps(environment, ensure_ascii=False),
        "error": error,
        "duration_s": float(duration_s),
        "started_at": to_iso(started_at),
        "finished_at": to_iso(utcnow()),
    }
    with store.tx() as db:
        rid = int(db["lab_runs"].insert(row).last_pk)
    got = get_run(store, rid)
    assert got is not None
    return got


def get_run(store: Store, run_id: int) -> LabRun | None:
    rows = list(store.db.query("SELECT * FROM lab_runs WHERE id = ?", [run_id]))
    return _row_to_run(rows[0]) if rows else None


def runs(store: Store, experiment: str | None = None, status: str | None = None) -> list[LabRun]:
    sql, params = "SELECT * FROM lab_runs WHERE 1=1", []
    if experiment is not None:
        sql += " AND experiment = ?"
        params.append(experiment)
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_row_to_run(r) for r in store.db.query(sql + " ORDER BY id", params)]


def last_runs(store: Store) -> dict[str, LabRun]:
    """The latest run of each experiment (any status)."""
    out: dict[str, LabRun] = {}
    for r in runs(store):
        out[r.experiment] = r
    return out


def completed_experiments(store: Store) -> dict[str, LabRun]:
    """Experiments with a completed default (not --quick) run: evidence for the checklist."""
    out: dict[str, LabRun] = {}
    for r in store.db.query("SELECT * FROM lab_runs WHERE status = 'completed' AND quick = 0 ORDER BY id"):
        out[r["experiment"]] = _row_to_run(r)
    return out


# --------------------------------------------------------------------------- running


Progress = Callable[[dict], None]


def _sandbox_limits(exp: Experiment, quick: bool):
    from studytool.grader import sandbox_plan as sandbox

    return sandbox.Limits(
        time_s=exp.wall_limit(quick),
        import_time_s=30.0,
        mem_bytes=exp.mem_mib * 1024 * 1024,
        fsize=1024 * 1024,
        scratch_bytes=32 * 1024 * 1024,
        output_bytes=MAX_LINE,
        nproc=64,
    )


def _hide() -> list[str]:
    try:
        from studytool import locations

        return [str(locations.data_dir(create=False))]
    except Exception:  # noqa: BLE001
        return []


@dataclass
class SandboxRun:
    """The runner process in the sandbox (trusted side)."""

    proc: subprocess.Popen
    stderr: list[str] = field(default_factory=list)

    def kill(self) -> None:
        """Kill the whole sandbox: bwrap (its PID namespace dies with it) and the process group."""
        for target in ("group", "proc"):
            try:
                if target == "group":
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if f is not None:
                    f.close()
            except Exception:  # noqa: BLE001
                pass


def start_runner(exp: Experiment, quick: bool) -> tuple[SandboxRun, dict]:
    from studytool.grader import sandbox_plan as sandbox

    p = sandbox.plan()
    argv, env, scratch = sandbox.build_command(
        p, _sandbox_limits(exp, quick), hide=_hide(), module=RUNNER_MODULE
    )
    env = dict(env, STUDYTOOL_LAB_SCRATCH=scratch)
    # spawn: bwrap's options travel through a pipe, so /proc/1/cmdline names no host path
    proc = sandbox.spawn(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd="/",
        start_new_session=True,
        close_fds=True,
        **sandbox.popen_user(p),
    )
    run = SandboxRun(proc)

    def drain() -> None:
        try:
            for line in proc.stderr:
                run.stderr.append(line.decode(errors="replace").rstrip()[:300])
                del run.stderr[:-30]
        except (OSError, ValueError):
            pass

    threading.Thread(target=drain, daemon=True).start()
    return run, p


def _communicate(
    run: SandboxRun,
    request: dict,
    deadline: float,
    on_progress: Progress | None,
    cancel: threading.Event | None,
) -> dict:
    """Send the request, stream progress, return the runner's result event (raise LabError)."""
    try:
        run.proc.stdin.write(json.dumps(request).encode())
        run.proc.stdin.close()
    except (BrokenPipeError, OSError) as exc:
        raise LabError(f"the sandbox did not start ({exc})") from None
    fd = run.proc.stdout.fileno()
    buf = b""
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        now = time.monotonic()
        if now > deadline:
            raise LabError("the run took longer than its wall-clock limit and was stopped")
        r, _, _ = select.select([fd], [], [], min(0.1, max(0.0, deadline - now)))
        if not r:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            tail = " | ".join(run.stderr[-4:])
            raise LabError("the sandbox ended without a result" + (f": {tail}" if tail else ""))
        buf += chunk
        if len(buf) > MAX_LINE and b"\n" not in buf:
            raise LabError("the sandbox sent garbage (an over-long line)")
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                ev = json.loads(line)
            except ValueError:
                raise LabError("the sandbox sent garbage on its result channel") from None
            if not isinstance(ev, dict):
                raise LabError("the sandbox sent garbage on its result channel")
            kind = ev.get("ev")
            if kind == "progress":
                if on_progress is not None:
                    done, total = _num(ev.get("done")), _num(ev.get("total"))
                    if done is not None and total:
                        on_progress(
                            {"done": int(done), "total": int(total), "stage": str(ev.get("stage", ""))[:80]}
                        )
            elif kind == "result":
                return ev
            elif kind == "error":
                raise LabError(str(ev.get("message", "the experiment failed"))[:2000])


def _environment(ev: dict, p: dict) -> dict:
    env = ev.get("env") if isinstance(ev.get("env"), dict) else {}
    out: dict[str, Any] = {}
    for k in ("torch", "python", "threads", "workers", "cpu_count", "cpu_s"):
        v = env.get(k)
        if isinstance(v, str):
            out[k] = v[:100]
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out[k] = v
    w = env.get("worker_cpu_s")
    if isinstance(w, list):
        out["worker_cpu_s"] = [x for x in (_num(y) for y in w[:16]) if x is not None]
    try:
        out["load_avg"] = round(os.getloadavg()[0], 2)  # how busy this machine was at the end
    except OSError:
        pass
    out["sandbox"] = p.get("mode")
    return out


def run_experiment(
    store: Store,
    exp_id: str,
    *,
    quick: bool = False,
    seed: int = 0,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> LabRun:
    """Run one experiment in the sandbox and store it. Returns the stored run whatever happened
    (status completed | failed | cancelled); a completed run carries results and a verdict."""
    exp = experiment(exp_id)
    settings = exp.settings(quick)
    sources = choose_sources(store, exp)
    src_kinds = {c: s.kind for c, s in sources.items()}
    attempts = {c: s.attempt_id for c, s in sources.items() if s.attempt_id is not None}
    started, t0 = utcnow(), time.monotonic()
    request = {
        "experiment": exp_id,
        "seed": int(seed),
        "quick": quick,
        "settings": settings,
        "mem_bytes": exp.mem_mib * 1024 * 1024,
        "components": {
            c: {"exercise": s.exercise, "origin": s.kind, "source": s.code, "attempt": s.attempt_id}
            for c, s in sources.items()
        },
    }
    base = dict(experiment=exp_id, quick=quick, seed=seed, settings=settings, sources=src_kinds)
    run: SandboxRun | None = None
    p: dict = {}
    try:
        run, p = start_runner(exp, quick)
        ev = _communicate(run, request, t0 + exp.wall_limit(quick), on_progress, cancel)
        raw = ev.get("results")
        if not isinstance(raw, dict):
            raise LabError("the sandbox sent no results")
        results, verdict = CHECKS[exp_id](settings, raw)
        env = _environment(ev, p)
    except Cancelled:
        if run is not None:
            run.kill()
        return record_run(
            store,
            **base,
            status="cancelled",
            results=None,
            reproduced=None,
            verdict={"attempts": attempts},
            environment={"sandbox": p.get("mode")},
            error="cancelled before it finished: nothing was measured",
            duration_s=time.monotonic() - t0,
            started_at=started,
        )
    except (LabError, OSError) as exc:
        if run is not None:
            run.kill()
        return record_run(
            store,
            **base,
            status="failed",
            results=None,
            reproduced=None,
            verdict={"attempts": attempts},
            environment={"sandbox": p.get("mode")},
            error=str(exc),
            duration_s=time.monotonic() - t0,
            started_at=started,
        )
    except BaseException as exc:
        if run is not None:
            run.kill()
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C in the CLI: a cancel, stored as one
            record_run(
                store,
                **base,
                status="cancelled",
                results=None,
                reproduced=None,
                verdict={"attempts": attempts},
                environment={"sandbox": p.get("mode")},
                error="interrupted before it finished: nothing was measured",
                duration_s=time.monotonic() - t0,
                started_at=started,
            )
        raise
    run.kill()  # the runner has sent its result; nothing of it may outlive the run
    return record_run(
        store,
        **base,
        status="completed",
        results=results,
        reproduced=verdict.reproduced,
        verdict={"findings": verdict.findings, "caveats": list(exp.caveats), "attempts": attempts},
        environment=env,
        error=None,
        duration_s=time.monotonic() - t0,
        started_at=started,
    )


# --------------------------------------------------------------------------- presenting a run
# Tables and plot series are built here, from a stored run, for both the CLI and the app.

_LABELS = {
    "none": _t("none (NoPE)", "无（NoPE）"),
    "sinusoidal": _t("sinusoidal", "正弦"),
    "learned": _t("learned", "可学习"),
    "rope": _t("RoPE", "RoPE"),
    "alibi": _t("ALiBi", "ALiBi"),
    "naive": _t("naive", "朴素"),
    "tiled": _t("tiled", "分块"),
    "linear": _t("linear", "线性"),
    "sdpa": _t("SDPA", "SDPA"),
    "cache": _t("with cache", "有缓存"),
    "no_cache": _t("no cache", "无缓存"),
    "pre": _t("Pre-LN", "Pre-LN"),
    "post": _t("Post-LN", "Post-LN"),
}


def label(key: str, lang: str = "en") -> str:
    return _LABELS.get(key, {}).get(lang, key)


def source_label(kind: str, lang: str = "en") -> str:
    if lang == "zh":
        return "你的代码" if kind == "yours" else "参考实现"
    return "yours" if kind == "yours" else "reference"


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Series:
    title: str
    xlabel: str
    ylabel: str
    xs: list[float]
    lines: dict[str, list[float | None]]
    log: bool = False


def _cell(x: Any, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if x != 0 and abs(x) < 10**-nd:
            return f"{x:.1e}"
        return f"{x:.{nd}f}"
    return str(x)


def tables(r: LabRun, lang: str = "en") -> list[Table]:
    zh = lang == "zh"
    res = r.results or {}
    if r.status != "completed":
        return []
    if r.experiment == "extrapolation":
        lengths = res["eval_lengths"]
        rows = [[label(v, lang)] + [_cell(x) for x in res["loss"][v]] for v in res["loss"]]
        rows.append(["oracle" if not zh else "理论最优"] + [_cell(x) for x in res["oracle"]])
        out = [
            Table(
                "Loss at each evaluation length (past the training length)"
                if not zh
                else "各评估长度上的损失（只计超出训练长度的位置）",
                ["encoding" if not zh else "编码"] + [f"L={n}" for n in lengths],
                rows,
            )
        ]
        dist = res.get("attention_distance") or {}
        rows = []
        for v, d in dist.items():
            tr, lo = d.get("train") or [], d.get("long") or []
            rows.append([label(v, lang), _cell(min(tr), 1) if tr else "–", _cell(min(lo), 1) if lo else "–"])
        long_n = max((n for n in lengths if n <= 4 * res["train_length"]), default=lengths[-1])
        out.append(
            Table(
                "Smallest mean attention distance of any head"
                if not zh
                else "各注意力头平均注意距离的最小值",
                ["encoding" if not zh else "编码", f"L={res['train_length']}", f"L={long_n}"],
                rows,
            )
        )
        return out
    if r.experiment == "layernorm":
        depths = res["depths"]
        rows = []
        for s in ("pre", "post"):
            for w in ("no_warmup", "warmup"):
                name = f"{label(s, lang)}{'，' if zh else ', '}" + (
                    ("no warm-up" if w == "no_warmup" else "warm-up")
                    if not zh
                    else ("不预热" if w == "no_warmup" else "预热")
                )
                rows.append([name] + [_cell(x) for x in res["final_loss"][s][w]])
        g = res["grad_norm_last_layer"]
        grows = [
            [label(s, lang)] + [_cell(x, 4) for x in g[s]] + [_cell(res["grad_slope"][s], 2)]
            for s in ("pre", "post")
        ]
        return [
            Table(
                ("Eval loss after training (chance %.2f)" if not zh else "训练后的评估损失（随机猜测 %.2f）")
                % res["chance"],
                ["stack" if not zh else "结构"] + [f"depth {d}" if not zh else f"深度 {d}" for d in depths],
                rows,
            ),
            Table(
                "Last layer's gradient norm at initialisation" if not zh else "初始化时最后一层的梯度范数",
                [""] + [str(d) for d in g["depths"]] + ["slope" if not zh else "斜率"],
                grows,
            ),
        ]
    if r.experiment == "attention_cost":
        lengths = res["lengths"]
        v = ATTN_VARIANTS
        trows = [
            [label(k, lang)] + [_cell(x, 4) for x in res["time_s"][k]] + [_cell(res["time_slope"][k], 2)]
            for k in v
        ]
        mrows = [
            [label(k, lang)] + [_cell(x, 1) for x in res["peak_mib"][k]] + [_cell(res["memory_slope"][k], 2)]
            for k in v
        ]
        head = ["N"] + [str(n) for n in lengths] + ["slope" if not zh else "斜率"]
        return [
            Table("Time (s, median)" if not zh else "时间（秒，中位数）", head, trows),
            Table("Extra peak memory (MiB)" if not zh else "额外峰值内存（MiB）", head, mrows),
        ]
    if r.experiment == "kv_decode":
        rows = [
            [str(t), _cell(a, 4), _cell(b, 4), _cell(s, 1)]
            for t, a, b, s in zip(
                res["tokens"], res["time_s"]["cache"], res["time_s"]["no_cache"], res["speedup"]
            )
        ]
        return [
            Table(
                "Decoding time (s)" if not zh else "解码时间（秒）",
                ["T", label("cache", lang), label("no_cache", lang), "speed-up" if not zh else "加速比"],
                rows,
            )
        ]
    return []


def series(r: LabRun, lang: str = "en") -> list[Series]:
    zh = lang == "zh"
    res = r.results or {}
    if r.status != "completed":
        return []
    if r.experiment == "extrapolation":
        return [
            Series(
                "Loss against evaluation length" if not zh else "损失随评估长度的变化",
                "length" if not zh else "长度",
                "loss" if not zh else "损失",
                res["eval_lengths"],
                {label(k, lang): v for k, v in res["loss"].items()},
                log=True,
            )
        ]
    if r.experiment == "layernorm":
        out = [
            Series(
                ("Loss against depth, " + ("no warm-up" if w == "no_warmup" else "warm-up"))
                if not zh
                else ("损失随深度的变化（" + ("不预热" if w == "no_warmup" else "预热") + "）"),
                "depth" if not zh else "深度",
                "loss" if not zh else "损失",
                res["depths"],
                {label(s, lang): res["final_loss"][s][w] for s in ("pre", "post")},
            )
            for w in ("no_warmup", "warmup")
        ]
        g = res["grad_norm_last_layer"]
        out.append(
            Series(
                "Last layer's gradient norm at init" if not zh else "初始化时最后一层的梯度范数",
                "depth" if not zh else "深度",
                "norm" if not zh else "范数",
                g["depths"],
                {label(s, lang): g[s] for s in ("pre", "post")},
                log=True,
            )
        )
        return out
    if r.experiment == "attention_cost":
        return [
            Series(
                "Time (s)" if not zh else "时间（秒）",
                "N",
                "s",
                res["lengths"],
                {label(k, lang): res["time_s"][k] for k in ATTN_VARIANTS},
                log=True,
            ),
            Series(
                "Extra peak memory (MiB)" if not zh else "额外峰值内存（MiB）",
                "N",
                "MiB",
                res["lengths"],
                {
                    label(k, lang): [x if x and x > 0 else None for x in res["peak_mib"][k]]
                    for k in ATTN_VARIANTS
                },
                log=True,
            ),
        ]
    if r.experiment == "kv_decode":
        return [
            Series(
                "Decoding time (s)" if not zh else "解码时间（秒）",
                "T",
                "s",
                res["tokens"],
                {label(k, lang): res["time_s"][k] for k in ("cache", "no_cache")},
                log=True,
            )
        ]
    return []


_SHADES = " ░▒▓█"


def heatmaps(r: LabRun, lang: str = "en") -> tuple[str, dict[str, list[str]]]:
    """(title, {variant label: rows of shade characters}) for extrapolation's attention maps:
    each cell is scaled to that map's largest cell; the diagonal (recent keys) runs top-left to
    bottom-right, the causal future (upper right) stays blank."""
    res = r.results or {}
    maps = res.get("attention_map") or {}
    out: dict[str, list[str]] = {}
    length = 0
    for v, m in maps.items():
        if not m:
            continue
        length = m["length"]
        rows = []
        for row in m["values"]:  # each query block scaled to its own largest cell
            top = max(row, default=0.0) or 1.0
            rows.append("".join(_SHADES[min(4, int(4 * x / top + 0.5))] for x in row))
        out[label(v, lang)] = rows
    title = (
        f"Where the last layer attends at length {length} (rows: queries, columns: keys; "
        f"mean over heads; darker = more weight, per row)"
        if lang != "zh"
        else f"长度 {length} 时最后一层注意力的分布（行：查询，列：键；各头平均；每行内越深权重越大）"
    )
    return title, out


def heatmap_lines(r: LabRun, lang: str = "en", per_row: int = 3) -> list[str]:
    """The heatmaps laid out ``per_row`` to a row of text (empty when the run has none)."""
    title, maps = heatmaps(r, lang)
    if not maps:
        return []
    lines = [title]
    items = list(maps.items())
    for i in range(0, len(items), per_row):
        group = items[i : i + per_row]
        width = max(len(rows[0]) for _, rows in group)
        lines.append("  ".join(_fit(name, width) for name, _ in group))
        for k in range(len(group[0][1])):
            lines.append("  ".join("".join(rows[k]).ljust(width) for _, rows in group))
        lines.append("")
    return lines


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded to ``width`` terminal cells (a CJK character takes two)."""
    import unicodedata

    out, used = "", 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > width:
            break
        out, used = out + c, used + w
    return out + " " * (width - used)


def verdict_line(r: LabRun, lang: str = "en") -> str:
    zh = lang == "zh"
    if r.status == "cancelled":
        return "Cancelled: nothing was measured." if not zh else "已取消：没有测量结果。"
    if r.status == "failed":
        return f"Failed: {r.error}" if not zh else f"失败：{r.error}"
    if r.reproduced:
        return "This run reproduced the claim." if not zh else "这次运行复现了论文的结论。"
    return "This run did not reproduce the claim." if not zh else "这次运行没有复现论文的结论。"

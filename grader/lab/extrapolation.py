"""Length extrapolation: tiny causal LMs, one per position encoding, trained at L, tested to 8L.

Encodings: none (NoPE), sinusoidal (component), learned absolute, RoPE (component), ALiBi
(component). The components are the learner's functions (or the references):
``sinusoidal_position_encoding(seq_len, d_model)``, ``apply_rope(x)`` on q and k [B, H, N, Dh],
``alibi_bias(n_heads, seq_len)`` added to the scores. Everything else is this module's code.
"""

from __future__ import annotations

import math

import torch
from studytool.grader.lab import common, runner
from torch import nn

VARIANTS = ["none", "sinusoidal", "learned", "rope", "alibi"]


class Attention(nn.Module):
    def __init__(self, d: int, h: int, enc: str, comps: dict) -> None:
        super().__init__()
        self.h, self.dh, self.enc, self.comps = h, d // h, enc, comps
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self._bias: dict[int, torch.Tensor] = {}

    def forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        if self.enc == "rope":
            q = self.comps["rope"].apply_rope(q)
            k = self.comps["rope"].apply_rope(k)
        bias = None
        if self.enc == "alibi":
            if n not in self._bias:
                # the learner's bias, then our own causal mask on top (belt and braces)
                ab = torch.as_tensor(self.comps["alibi"].alibi_bias(self.h, n), dtype=q.dtype)
                causal = torch.ones(n, n, dtype=torch.bool).triu(1)
                self._bias[n] = ab.reshape(self.h, n, n).masked_fill(causal, float("-inf"))
            bias = self._bias[n]
        if record is None:  # training and plain evaluation: the fused kernel, same maths
            if bias is None:
                o = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                o = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        else:  # the attention weights are wanted: compute them explicitly
            s = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
            if bias is not None:
                s = s + bias
            s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
            a = torch.softmax(s, dim=-1)
            record.append(a.detach())
            o = a @ v
        return self.out(o.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d: int, h: int, enc: str, comps: dict, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, h, enc, comps)
        self.mlp = nn.Sequential(nn.Linear(d, mlp_ratio * d), nn.GELU(), nn.Linear(mlp_ratio * d, d))

    def forward(self, x, record=None):
        x = x + self.attn(self.ln1(x), record)
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, s: dict, enc: str, comps: dict) -> None:
        super().__init__()
        d, v = int(s["d_model"]), int(s["vocab"])
        self.enc, self.comps, self.d, self.train_len = enc, comps, d, int(s["train_length"])
        self.tok = nn.Embedding(v + 1, d)  # + BOS
        if enc == "learned":
            self.pos = nn.Embedding(self.train_len, d)
        self.blocks = nn.ModuleList(
            Block(d, int(s["n_heads"]), enc, comps, int(s.get("mlp_ratio", 2)))
            for _ in range(int(s["n_layers"]))
        )
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, v)
        self._pe: dict[int, torch.Tensor] = {}

    def forward(self, idx: torch.Tensor, record: list | None = None) -> torch.Tensor:
        n = idx.shape[1]
        x = self.tok(idx)
        if self.enc == "sinusoidal":
            if n not in self._pe:
                pe = self.comps["sinusoidal"].sinusoidal_position_encoding(n, self.d)
                self._pe[n] = torch.as_tensor(pe, dtype=torch.float32).reshape(n, self.d)
            x = x + self._pe[n]
        elif self.enc == "learned":
            # no embedding exists past the training length: reuse the last one
            pos = torch.arange(n).clamp(max=self.train_len - 1)
            x = x + self.pos(pos)
        for blk in self.blocks:
            x = blk(x, record)
        return self.head(self.ln(x))


def _mean_distance(maps: list[torch.Tensor]) -> list[float]:
    """Mean attention distance Σ_j a_ij (i − j), averaged over queries and batch, per layer·head."""
    out = []
    for a in maps:  # [B, H, N, N]
        n = a.shape[-1]
        dist = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).clamp(min=0).to(a.dtype)
        out.extend((a * dist).sum(-1).mean(dim=(0, 2)).tolist())
    return [round(x, 3) for x in out]


HEAT = 16  # the attention heatmap is pooled to HEAT × HEAT cells


def _heatmap(a: torch.Tensor, size: int) -> list[list[float]] | None:
    """The last layer's attention [B, H, N, N], averaged over batch and heads and pooled to
    size × size blocks (each cell: the mean weight a query in that block gives a key in that block)."""
    m = a.mean(dim=(0, 1))
    n = m.shape[-1]
    if n % size:
        return None
    k = n // size
    pooled = m.reshape(size, k, size, k).mean(dim=(1, 3))
    return [[round(float(x), 6) for x in row] for row in pooled]


def train_variant(task: dict, step) -> dict:
    """Train and evaluate one variant; a component that raises makes this variant null (with the
    error), not the whole run."""
    try:
        return _train_variant(task, step)
    except Exception as exc:  # noqa: BLE001 — reported, and the variant's losses are null
        n = len(task["settings"]["eval_factors"])
        return {
            "variant": task["variant"],
            "loss": [None] * n,
            "oracle": [None] * n,
            "distance": {},
            "error": runner.describe(exc),
        }


def _train_variant(task: dict, step) -> dict:
    s, seed, enc = task["settings"], task["seed"], task["variant"]
    comps = task["comps"]
    torch.manual_seed(seed * 1000 + VARIANTS.index(enc))
    table = common.markov_table(int(s["vocab"]), float(s["sharpness"]), seed)
    bos = int(s["vocab"])
    L, steps, batch = int(s["train_length"]), int(s["steps"]), int(s["batch"])
    gen = torch.Generator().manual_seed(20_011 + seed)  # the same data for every variant
    data = common.sample(table, steps * batch, L, gen)
    model = TinyLM(s, enc, comps)
    opt = torch.optim.AdamW(model.parameters(), lr=float(s["lr"]))
    base = float(s["lr"])
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = base * common.lr_at(i, steps, int(s["warmup"]), cosine=True)
        inp, tgt = common.with_bos(data[i * batch : (i + 1) * batch], bos)
        loss = nn.functional.cross_entropy(model(inp).reshape(-1, bos), tgt.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (i + 1) % 10 == 0:
            step(10)
    step(steps % 10)
    model.eval()
    losses, oracle, dist, errors = [], [], {}, []
    heat = None
    egen = torch.Generator().manual_seed(30_011 + seed)
    lengths = [L * int(f) for f in s["eval_factors"]]
    long_len = max(n for n in lengths if n <= 4 * L)
    with torch.no_grad():
        for n in lengths:
            x = common.sample(table, int(s["eval_batch"]), n, egen)
            inp, tgt = common.with_bos(x, bos)
            rec: list = [] if n in (L, long_len) else None
            try:
                logits = model(inp, rec)
            except Exception as exc:  # noqa: BLE001 — this variant cannot run at this length
                losses.append(None)
                oracle.append(None)
                errors.append(f"at length {n}: {runner.describe(exc)}")
                step(1)
                continue
            nll = nn.functional.cross_entropy(
                logits.reshape(-1, bos), tgt.reshape(-1), reduction="none"
            ).view_as(tgt)
            onll = common.oracle_nll(table, x)
            cut = L if n > L else 0  # past the training length only, where there is a past
            losses.append(common.clean(nll[:, cut:].mean()))
            oracle.append(common.clean(onll[:, cut:].mean()))
            if rec is not None:
                dist["train" if n == L else "long"] = _mean_distance(rec)
                if n == long_len:
                    heat = _heatmap(rec[-1], HEAT)
            step(1)
    out = {
        "variant": enc,
        "loss": losses,
        "oracle": oracle,
        "distance": dist,
        "heatmap": {"length": long_len, "size": HEAT, "values": heat} if heat else None,
    }
    if errors:
        out["error"] = "; ".join(errors)[:1000]
    return out


def run(settings: dict, seed: int, comps: dict) -> dict:
    steps = int(settings["steps"])
    n_eval = len(settings["eval_factors"])
    tasks = [
        {
            "variant": v,
            "settings": settings,
            "seed": seed,
            "comps": comps,
            "cost": 1.0 + (0.2 if v in ("rope", "alibi") else 0.0),
        }
        for v in VARIANTS
    ]
    progress = runner.Progress(len(VARIANTS) * (steps + n_eval))
    progress.set(0, "training", force=True)
    out = common.parallel(
        tasks, train_variant, int(settings.get("workers", 2)), progress, lambda t: f"training {t['variant']}"
    )
    L = int(settings["train_length"])
    return {
        "train_length": L,
        "eval_lengths": [L * int(f) for f in settings["eval_factors"]],
        "loss": {r["variant"]: r["loss"] for r in out},
        "oracle": next((r["oracle"] for r in out if None not in r["oracle"]), out[0]["oracle"]),
        "errors": {r["variant"]: r["error"] for r in out if r.get("error")},
        "attention_map": {r["variant"]: r.get("heatmap") for r in out},
        "attention_distance": {r["variant"]: r["distance"] for r in out},
    }

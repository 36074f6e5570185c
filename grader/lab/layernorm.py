"""Pre-LN vs Post-LN with depth (Xiong et al. 2020), built from the learner's blocks.

``PreLNBlock(d_model, n_heads, d_ff)`` / ``PostLNBlock(...)`` with ``forward(x, causal=True)``
are the component; the embedding, the head and the training loop are this module's. Stacks of
depth 6/12/24 train on the Markov task with Adam, with and without a linear warm-up; and at
initialisation the gradient norm of the last block's parameters is measured against depth.
"""

from __future__ import annotations

import torch
from studytool.grader.lab import common, runner
from torch import nn


class Stack(nn.Module):
    def __init__(self, s: dict, kind: str, depth: int, comp, embed_std: float | None = None) -> None:
        super().__init__()
        d, v = int(s["d_model"]), int(s["vocab"])
        block = comp.PreLNBlock if kind == "pre" else comp.PostLNBlock
        self.tok = nn.Embedding(v + 1, d)
        self.pos = nn.Embedding(int(s["seq_len"]), d)
        self.blocks = nn.ModuleList(block(d, int(s["n_heads"]), int(s["d_ff"])) for _ in range(depth))
        # Pre-LN ends with a final LayerNorm (its residual stream is never normalised); Post-LN's
        # last block already ends in one (Xiong et al., Figure 1)
        self.final = nn.LayerNorm(d) if kind == "pre" else nn.Identity()
        self.head = nn.Linear(d, v)
        if embed_std is not None:  # GPT-2's init: the residual stream's size comes from the blocks
            nn.init.normal_(self.tok.weight, std=embed_std)
            nn.init.normal_(self.pos.weight, std=embed_std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x, causal=True)
        return self.head(self.final(x))


def _loss(model, x, bos):
    inp, tgt = common.with_bos(x, bos)
    logits = model(inp)
    # positions 0 and 1 cannot be predicted (uniform): score the ones the chain decides
    return nn.functional.cross_entropy(logits[:, 2:].reshape(-1, bos), tgt[:, 2:].reshape(-1))


def train_one(task: dict, step) -> dict:
    s, seed = task["settings"], task["seed"]
    kind, depth, warm = task["kind"], int(task["depth"]), bool(task["warmup"])
    table = common.markov_table(int(s["vocab"]), float(s["sharpness"]), seed)
    bos, n, steps, batch = int(s["vocab"]), int(s["seq_len"]), int(s["steps"]), int(s["batch"])
    data = common.sample(table, steps * batch, n, torch.Generator().manual_seed(40_009 + seed))
    torch.manual_seed(seed * 1000 + depth)  # pre and post, warm-up or not: the same init seed
    model = Stack(s, kind, depth, task["comp"])
    opt = torch.optim.Adam(model.parameters(), lr=float(s["lr"]))
    base, wu = float(s["lr"]), int(s["warmup"]) if warm else 0
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = base * common.lr_at(i, steps, wu, cosine=False)
        loss = _loss(model, data[i * batch : (i + 1) * batch], bos)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (i + 1) % 10 == 0:
            step(10 * depth)
    step((steps % 10) * depth)
    model.eval()
    with torch.no_grad():
        x = common.sample(table, int(s["eval_batch"]), n, torch.Generator().manual_seed(50_021 + seed))
        final = common.clean(_loss(model, x, bos))
    return {"kind": kind, "depth": depth, "warmup": warm, "loss": final}


def grad_norms(task: dict, step) -> dict:
    """Gradient norm of the last block's parameters at initialisation, per depth (mean of batches).

    The embeddings start small (std 0.02, as GPT-2 initialises them), so that the residual stream
    grows with depth through the blocks' own outputs — the setting of Xiong et al.'s Theorem 1.
    With unit-variance embeddings the stream is dominated by the embedding up to depth 48 and
    Pre-LN's 1/√L scaling does not show yet."""
    s, seed, comp = task["settings"], task["seed"], task["comp"]
    table = common.markov_table(int(s["vocab"]), float(s["sharpness"]), seed)
    bos, n = int(s["vocab"]), int(s["seq_len"])
    out = {"pre": [], "post": []}
    for depth in s["grad_depths"]:
        for kind in ("pre", "post"):
            norms = []
            for b in range(int(s["grad_batches"])):
                torch.manual_seed(seed * 1000 + 7 * int(depth) + b)
                model = Stack(s, kind, int(depth), comp, embed_std=0.02)
                x = common.sample(
                    table, int(s["batch"]), n, torch.Generator().manual_seed(60_013 + seed * 100 + b)
                )
                _loss(model, x, bos).backward()
                sq = sum(
                    float((p.grad**2).sum()) for p in model.blocks[-1].parameters() if p.grad is not None
                )
                norms.append(sq**0.5)
            out[kind].append(common.clean(sum(norms) / len(norms)))
        step(int(depth))
    return out


def run(settings: dict, seed: int, comps: dict) -> dict:
    comp = comps["prenorm_postnorm"]
    depths = [int(d) for d in settings["depths"]]
    tasks = [
        {
            "kind": k,
            "depth": d,
            "warmup": w,
            "settings": settings,
            "seed": seed,
            "comp": comp,
            "cost": d * int(settings["steps"]),
            "fn": "train",
        }
        for d in depths
        for k in ("pre", "post")
        for w in (False, True)
    ]
    gd = [int(d) for d in settings["grad_depths"]]
    tasks.append(
        {
            "settings": settings,
            "seed": seed,
            "comp": comp,
            "fn": "grad",
            "cost": sum(gd) * 2 * int(settings["grad_batches"]) * 3,
        }
    )
    total = sum(d * int(settings["steps"]) for d in depths) * 4 + sum(gd)
    progress = runner.Progress(total)
    progress.set(0, "training", force=True)

    def fn(task, step):
        return grad_norms(task, step) if task["fn"] == "grad" else train_one(task, step)

    def stage(task):
        if task["fn"] == "grad":
            return "gradient norms at initialisation"
        return f"{task['kind']}-LN depth {task['depth']}" + (" warm-up" if task["warmup"] else "")

    out = common.parallel(tasks, fn, int(settings.get("workers", 2)), progress, stage)
    final = {k: {"warmup": [None] * len(depths), "no_warmup": [None] * len(depths)} for k in ("pre", "post")}
    for r in out[:-1]:
        final[r["kind"]]["warmup" if r["warmup"] else "no_warmup"][depths.index(r["depth"])] = r["loss"]
    g = out[-1]
    return {
        "depths": depths,
        "final_loss": final,
        "grad_norm_last_layer": {"depths": gd, "pre": g["pre"], "post": g["post"]},
    }

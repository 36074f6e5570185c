"""Greedy decoding from a small random-weight decoder built on the learner's CachedSelfAttention,
with the learner's KVCache and without any cache; the same tokens are expected from both."""

from __future__ import annotations

import time

import torch
from studytool.grader.lab import runner
from torch import nn


class Decoder(nn.Module):
    def __init__(self, s: dict, comp, max_len: int) -> None:
        super().__init__()
        d, h, v = int(s["d_model"]), int(s["n_heads"]), int(s["vocab"])
        self.h, self.dh, self.comp = h, d // h, comp
        self.tok, self.pos = nn.Embedding(v, d), nn.Embedding(max_len, d)
        self.layers = nn.ModuleList()
        for _ in range(int(s["n_layers"])):
            self.layers.append(
                nn.ModuleDict(
                    {
                        "ln1": nn.LayerNorm(d),
                        "attn": comp.CachedSelfAttention(d, h),
                        "ln2": nn.LayerNorm(d),
                        "mlp": nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)),
                    }
                )
            )
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, v)

    def forward(self, idx: torch.Tensor, start: int, caches=None) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(start, start + idx.shape[1]))
        for i, layer in enumerate(self.layers):
            a = (
                layer["attn"](layer["ln1"](x), cache=caches[i])
                if caches is not None
                else layer["attn"](layer["ln1"](x))
            )
            x = x + a
            x = x + layer["mlp"](layer["ln2"](x))
        return self.head(self.ln(x[:, -1]))

    def generate(self, steps: int, cached: bool) -> list[int]:
        toks = [0]
        caches = None
        if cached:
            caches = [self.comp.KVCache(1, self.h, steps + 1, self.dh) for _ in self.layers]
        for t in range(steps):
            if cached:
                logits = self(torch.tensor([[toks[-1]]]), t, caches)
            else:
                logits = self(torch.tensor([toks]), 0)
            toks.append(int(logits.argmax(-1)))
        return toks[1:]


def run(settings: dict, seed: int, comps: dict) -> dict:
    comp = comps["kv_cache"]
    tokens = [int(t) for t in settings["tokens"]]
    torch.manual_seed(seed)
    model = Decoder(settings, comp, max(tokens) + 1).eval()
    with torch.no_grad():
        for p in model.parameters():  # a sharper random model: less chance of near-ties
            p.mul_(2.0)
    units = {t: max(1, t * t // 64) for t in tokens}  # work grows about as T² without the cache
    progress = runner.Progress(sum(2 * u for u in units.values()))
    progress.set(0, "decoding", force=True)
    times = {"cache": [], "no_cache": []}
    same = True
    with torch.no_grad():
        model.generate(8, True)  # warm-up
        model.generate(8, False)
        for t in tokens:
            runs = {}
            for mode in ("cache", "no_cache"):
                best = None
                for _ in range(int(settings.get("repeats", 1))):
                    t0 = time.perf_counter()
                    out = model.generate(t, mode == "cache")
                    dt = time.perf_counter() - t0
                    best = dt if best is None else min(best, dt)
                runs[mode] = out
                times[mode].append(round(best, 6))
                progress.add(units[t], f"{t} tokens, {'with' if mode == 'cache' else 'without'} cache")
            same = same and runs["cache"] == runs["no_cache"]
    return {"tokens": tokens, "time_s": times, "same_tokens": same}

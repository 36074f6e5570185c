"""Shared pieces of the lab experiments: the Markov task, lr schedules, two-worker training."""

from __future__ import annotations

import json
import math
import os
import select
import traceback
from collections.abc import Callable
from typing import Any

import torch
from studytool.grader.lab import runner

# --------------------------------------------------------------------------- the task


def markov_table(vocab: int, sharpness: float, seed: int) -> torch.Tensor:
    """P[a, b, :]: the distribution of the next token after (a, b). Fixed by the seed; sharp."""
    g = torch.Generator().manual_seed(10_007 + seed)
    return torch.softmax(torch.randn(vocab, vocab, vocab, generator=g) * sharpness, dim=-1)


def sample(table: torch.Tensor, batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """[batch, length] tokens: two uniform tokens, then the second-order chain."""
    v = table.shape[0]
    x = torch.empty(batch, length, dtype=torch.long)
    x[:, :2] = torch.randint(v, (batch, 2), generator=gen)
    for t in range(2, length):
        x[:, t] = torch.multinomial(table[x[:, t - 2], x[:, t - 1]], 1, generator=gen).squeeze(1)
    return x


def with_bos(x: torch.Tensor, bos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets): inputs are BOS followed by all tokens but the last."""
    inp = torch.cat([torch.full((x.shape[0], 1), bos, dtype=torch.long), x[:, :-1]], dim=1)
    return inp, x


def oracle_nll(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[batch, length] negative log-likelihood of the true chain (the first two tokens: log V)."""
    v = table.shape[0]
    out = torch.full(x.shape, math.log(v))
    if x.shape[1] > 2:
        p = table[x[:, :-2], x[:, 1:-1], x[:, 2:]]
        out[:, 2:] = -torch.log(p)
    return out


def lr_at(step: int, steps: int, warmup: int, cosine: bool) -> float:
    """Multiplier of the base lr: linear warm-up, then cosine decay to 0 (or constant)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    t = (step - warmup) / max(1, steps - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


# --------------------------------------------------------------------------- workers

WORKER_CPU: list[float] = []  # CPU seconds of each finished worker (for the benchmark)


def parallel(
    tasks: list[dict],
    fn: Callable[[dict, Callable[[int], None]], Any],
    workers: int,
    progress: runner.Progress,
    stage: Callable[[dict], str],
) -> list[Any]:
    """Run ``fn(task, step)`` for every task, spread over ``workers`` forked processes.

    ``step(n)`` reports n more units of progress. Each task has a "cost" used to balance the
    workers. Results come back as JSON, in task order. Torch is single-threaded before any fork
    (a forked child of a multi-threaded parent hangs in its first op).
    """
    workers = max(1, min(int(workers), len(tasks), os.cpu_count() or 1))
    if workers == 1:
        out = []
        for t in tasks:
            out.append(fn(t, lambda n, t=t: progress.add(n, stage(t))))
        return out
    assert torch.get_num_threads() == 1
    loads = [0.0] * workers
    assign: list[list[int]] = [[] for _ in range(workers)]
    for i in sorted(range(len(tasks)), key=lambda i: -float(tasks[i].get("cost", 1))):
        w = loads.index(min(loads))
        assign[w].append(i)
        loads[w] += float(tasks[i].get("cost", 1))
    pipes, pids = {}, []
    for w in range(workers):
        r, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # worker
            code = 1
            try:
                os.close(r)
                runner.set_pdeathsig()
                torch.set_num_threads(1)

                def send(obj, wfd=wfd):
                    data = (json.dumps(obj, allow_nan=True) + "\n").encode()
                    while data:
                        data = data[os.write(wfd, data) :]

                for i in assign[w]:
                    t = tasks[i]
                    try:
                        res = fn(t, lambda n, i=i: send({"p": n, "i": i}))
                    except BaseException as exc:  # noqa: BLE001
                        send({"err": runner.describe(exc), "i": i})
                        raise SystemExit(1) from None
                    send({"r": res, "i": i})
                code = 0
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(wfd)
        pipes[r] = b""
        pids.append(pid)
    results: dict[int, Any] = {}
    error = None
    try:
        while pipes and error is None:
            ready, _, _ = select.select(list(pipes), [], [], 1.0)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    os.close(fd)
                    del pipes[fd]
                    continue
                pipes[fd] += chunk
                while b"\n" in pipes[fd]:
                    line, pipes[fd] = pipes[fd].split(b"\n", 1)
                    msg = json.loads(line)
                    i = int(msg["i"])
                    if "p" in msg:
                        progress.add(int(msg["p"]), stage(tasks[i]))
                    elif "r" in msg:
                        results[i] = msg["r"]
                    elif "err" in msg:
                        error = msg["err"]
    finally:
        for fd in pipes:
            os.close(fd)
        for pid in pids:
            if error is not None:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            try:
                _, _, ru = os.wait4(pid, 0)
                WORKER_CPU.append(round(ru.ru_utime + ru.ru_stime, 2))
            except ChildProcessError:
                pass
    if error is not None:
        raise RuntimeError(error)
    missing = [i for i in range(len(tasks)) if i not in results]
    if missing:
        raise RuntimeError(f"a worker died before finishing {len(missing)} task(s)")
    return [results[i] for i in range(len(tasks))]


def clean(x: float) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None

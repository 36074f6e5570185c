"""Helpers for probes (sandbox side). Imported next to the learner's code; imports torch + stdlib.

Probes return plain data (tensors, numbers, strings, lists, dicts); the runner turns any tensor into
a plain ``torch.Tensor`` before it crosses to the trusted side. Everything here measures *inside*
the learner's process, so the learner's code could tamper with it: these numbers are diagnostics
that help name a fault, never the basis of a pass. A verdict on memory or cost growth rests on a
measured test (``TestCase.runs``), whose numbers the zygote takes from the kernel with ``wait4``
(see ``ProbeResult.runs``). The child is non-dumpable, so ``peak_memory`` can no longer reset
VmHWM through ``/proc/self/clear_refs`` (except in the root fallback sandbox): it falls back to
``ru_maxrss``.

* ``peak_memory(fn, *args, **kwargs) -> (result, peak_bytes)`` — resident-memory high-water mark
  of this process during ``fn`` above what was resident before (VmHWM after ``clear_refs``; falls back
  to ``ru_maxrss``).
* ``count_rows(module, ["k_proj", "v_proj"])`` — context manager counting rows (all leading dims
  of the input) through named submodules with forward hooks: ``with count_rows(m, names) as c: ...;
  c["k_proj"]``; ``c.calls[name]`` counts calls.
* ``flop_count(fn, *args, **kwargs) -> (result, flops)`` — ``torch.utils.flop_counter.FlopCounterMode``.
* ``ForbiddenCall`` — raised by the runtime guard when the learner calls a forbidden function.
* ``snapshot(x)`` — a detached copy of a returned tensor; any other value as it is.
* ``tensor_info(x)`` — a dict describing any object (type, shape, dtype) for error messages.
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable, Iterable
from typing import Any

import torch


class ForbiddenCall(RuntimeError):
    """The learner called something this exercise forbids."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is forbidden in this exercise — implement it yourself with basic tensor ops"
        )
        self.name = name


FORBIDDEN_HITS: list[str] = []  # names of forbidden calls made, even if the learner caught the error


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss() -> int:
    """Resident bytes of this process now."""
    kib = _status_kib("VmRSS")
    return (kib or 0) * 1024


def peak_memory(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """Run fn; return (its result, peak resident bytes above the resident size before the call)."""
    import gc

    gc.collect()
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        pass
    before = current_rss()
    if reset:
        result = fn(*args, **kwargs)
        peak = (_status_kib("VmHWM") or 0) * 1024
    else:  # ru_maxrss is a high-water mark since the process started: a lower bound only
        start_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result = fn(*args, **kwargs)
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, start_max)
    return result, max(0, peak - before)


def measure_peak(run: Callable[[], Any]) -> dict[str, Any]:
    """Run ``run()`` and measure its peak memory. Running out of memory comes back as data
    (``out_of_memory``, ``message``) so that a judge can say what it means for the exercise."""
    try:
        sample, peak = peak_memory(run)
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "can't allocate memory" not in str(exc):
            raise
        return {"out_of_memory": True, "message": f"{type(exc).__name__}: {str(exc)[:160]}"}
    return {"out_of_memory": False, "peak_bytes": int(peak), "sample": sample}


class RowCounter(dict):
    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}


@contextlib.contextmanager
def count_rows(module: torch.nn.Module, names: Iterable[str]):
    """Count rows (product of all but the last input dim) through each named submodule."""
    counter = RowCounter()
    handles = []
    for name in names:
        sub = module.get_submodule(name)
        counter[name] = 0
        counter.calls[name] = 0

        def hook(mod, inputs, output, _name=name):
            x = inputs[0] if inputs else None
            if isinstance(x, torch.Tensor) and x.dim() >= 1:
                counter[_name] += int(x.numel() // max(1, x.shape[-1]))
            counter.calls[_name] += 1

        handles.append(sub.register_forward_hook(hook))
    try:
        yield counter
    finally:
        for h in handles:
            h.remove()


def flop_count(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as mode:
        result = fn(*args, **kwargs)
    return result, int(mode.get_total_flops())


def snapshot(x: Any) -> Any:
    """A tensor's values now (detached copy: later in-place writes do not change it); anything
    else as it is — the wire sends an object it cannot carry by its type name (e.g. ndarray)."""
    return x.detach().clone() if isinstance(x, torch.Tensor) else x


def tensor_info(x: Any) -> dict[str, Any]:
    if isinstance(x, torch.Tensor):
        return {"type": "Tensor", "shape": list(x.shape), "dtype": str(x.dtype)}
    return {"type": type(x).__name__}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))

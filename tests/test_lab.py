"""The lab: sources (yours only after a pass), the verdict arithmetic, each experiment's machinery
through the sandbox (--quick), the JSON contract, exit codes, cancelling, same seed same numbers."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from studytool import lab
from studytool.cli import main
from studytool.store import Store

CONTRACT = {"experiment", "seed", "duration_s", "quick", "sources", "claim", "reproduced", "results"}
RESULT_KEYS = {
    "extrapolation": {"train_length", "eval_lengths", "loss"},
    "layernorm": {"depths", "final_loss", "grad_norm_last_layer"},
    "attention_cost": {"lengths", "time_s", "peak_mib", "time_slope", "memory_slope"},
    "kv_decode": {"tokens", "time_s", "same_tokens"},
}


def _attempt(store, ex, code, status):
    n = 3 if status == "pass" else 1
    return store.record_exercise_attempt(ex, code, {"status": status, "passed": n, "total": 3})


# ----------------------------------------------------------------------------- arithmetic


def test_loglog_slope_and_crossover():
    assert lab.loglog_slope([1, 2, 4, 8], [3, 12, 48, 192]) == pytest.approx(2.0)
    assert lab.loglog_slope([1, 2, 4], [5, 10, 20]) == pytest.approx(1.0)
    assert lab.loglog_slope([1, 2], [None, 3.0]) is None  # one point is no slope
    assert lab.loglog_slope([1, 2, 4], [0.0, 2.0, 4.0]) == pytest.approx(1.0)  # zero skipped
    n = [128, 256, 512, 1024]
    assert lab.crossover(n, [1, 1, 1, 1], [2, 2, 2, 2]) == 128
    assert lab.crossover(n, [3, 1, 1, 1], [2, 2, 2, 2]) == 256
    assert lab.crossover(n, [1, 1, 3, 1], [2, 2, 2, 2]) == 1024  # must stay faster from there on
    assert lab.crossover(n, [1, 1, 1, 3], [2, 2, 2, 2]) is None


def _extrap_raw(alibi_long, sin_long):
    s = lab.experiment("extrapolation").default
    L = s["train_length"]
    lens = [L * f for f in s["eval_factors"]]
    loss = {v: [1.04, 1.5, 2.0, 2.5] for v in ("none", "rope")}
    loss["sinusoidal"] = [1.04, 2.5, 3.0, sin_long]
    loss["learned"] = [1.04, 2.6, 3.2, 3.5]
    loss["alibi"] = [1.04, 1.0, 1.0, alibi_long]
    return s, {"eval_lengths": lens, "loss": loss, "oracle": [1.03, 1.0, 1.0, 1.0]}


def test_extrapolation_verdict_follows_the_numbers():
    s, raw = _extrap_raw(0.99, 3.3)
    res, v = lab.check_extrapolation(s, raw)
    assert v.reproduced and res["loss"]["alibi"][-1] == 0.99
    s, raw = _extrap_raw(2.9, 3.3)  # ALiBi not flat
    assert not lab.check_extrapolation(s, raw)[1].reproduced
    s, raw = _extrap_raw(0.99, 1.2)  # sinusoidal did not degrade
    assert not lab.check_extrapolation(s, raw)[1].reproduced
    s, raw = _extrap_raw(float("nan"), 3.3)  # a NaN is no number: null, and no reproduction
    res, v = lab.check_extrapolation(s, raw)
    assert res["loss"]["alibi"][-1] is None and not v.reproduced


def test_layernorm_and_kv_verdicts_follow_the_numbers():
    s = dict(lab.experiment("layernorm").default)
    gd = s["grad_depths"]
    good = {
        "final_loss": {
            "pre": {"warmup": [1.1, 1.1, 1.1], "no_warmup": [1.1, 1.1, 1.1]},
            "post": {"warmup": [1.1, 1.2, 2.0], "no_warmup": [1.1, 1.8, 2.05]},
        },
        "grad_norm_last_layer": {"depths": gd, "pre": [8 / d**0.5 for d in gd], "post": [d**0.4 for d in gd]},
    }
    res, v = lab.check_layernorm(s, good)
    assert v.reproduced and res["grad_slope"]["pre"] == pytest.approx(-0.5, abs=0.01)
    bad = json.loads(json.dumps(good))
    bad["final_loss"]["post"]["no_warmup"] = [1.1, 1.1, 1.1]  # Post-LN trained fine
    assert not lab.check_layernorm(s, bad)[1].reproduced
    with pytest.raises(lab.LabError, match="final_loss.pre.warmup"):
        bad["final_loss"]["pre"]["warmup"] = [1.0]
        lab.check_layernorm(s, bad)
    k = lab.experiment("kv_decode").default
    t = k["tokens"]
    raw = {
        "tokens": t,
        "time_s": {"cache": [x * 1e-3 for x in t], "no_cache": [x * x * 1e-5 for x in t]},
        "same_tokens": True,
    }
    assert lab.check_kv_decode(k, raw)[1].reproduced
    raw["same_tokens"] = False  # a cache that changes the output reproduces nothing
    assert not lab.check_kv_decode(k, raw)[1].reproduced
    raw["same_tokens"] = "yes"
    with pytest.raises(lab.LabError):
        lab.check_kv_decode(k, raw)


# ----------------------------------------------------------------------------- sources


def test_yours_only_after_a_pass_and_from_the_stored_passing_code(tmp_path):
    exp = lab.experiment("extrapolation")
    with Store(tmp_path / "s.db") as store:
        src = lab.choose_sources(store, exp)
        assert {c: s.kind for c, s in src.items()} == {
            "sinusoidal": "reference",
            "rope": "reference",
            "alibi": "reference",
        }
        assert src["rope"].code == lab.reference_code("rope")
        _attempt(store, "rope", "# failing rope\n", "fail")
        _attempt(store, "rope", "# errored rope\n", "error")
        # every test passed but the verdict is fail (e.g. a forbidden call): still not yours
        store.record_exercise_attempt(
            "rope", "# forbidden rope\n", {"status": "fail", "passed": 3, "total": 3}
        )
        # "pass" with no tests at all proves nothing
        store.record_exercise_attempt("rope", "# empty rope\n", {"status": "pass", "passed": 0, "total": 0})
        assert lab.choose_sources(store, exp)["rope"].kind == "reference"  # never a failing one
        first = _attempt(store, "rope", "# passing rope 1\n", "pass")
        second = _attempt(store, "rope", "# passing rope 2\n", "pass")
        _attempt(store, "rope", "# later failing rope\n", "fail")
        src = lab.choose_sources(store, exp)["rope"]
        assert (src.kind, src.code, src.attempt_id) == ("yours", "# passing rope 2\n", second)
        assert first < second
        assert lab.choose_sources(store, exp)["alibi"].kind == "reference"


def test_the_workspace_file_is_never_used(tmp_path, studytool_home):
    from studytool import workspace

    exp = lab.experiment("kv_decode")
    with Store(tmp_path / "s.db") as store:
        path = workspace.workspace_file("kv_cache")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# the workspace file, unchecked\n")
        assert lab.choose_sources(store, exp)["kv_cache"].kind == "reference"


# ----------------------------------------------------------------------------- through the sandbox


@pytest.mark.sandbox
@pytest.mark.parametrize("exp_id", list(lab.EXPERIMENTS))
def test_each_experiment_runs_quick_in_the_sandbox(exp_id, tmp_path):
    seen = []
    with Store(tmp_path / "s.db") as store:
        r = lab.run_experiment(store, exp_id, quick=True, seed=1, on_progress=seen.append)
        assert r.status == "completed", r.error
        assert r.quick and r.seed == 1 and isinstance(r.reproduced, bool)
        assert RESULT_KEYS[exp_id] <= set(r.results)
        assert set(r.sources) == set(lab.experiment(exp_id).components)
        assert r.environment["torch"] and r.environment["threads"] == 1
        assert r.verdict["findings"] and r.verdict["caveats"]
        assert lab.runs(store) == [r]
    assert seen and seen[-1]["done"] == seen[-1]["total"]
    assert all(0 <= p["done"] <= p["total"] for p in seen)
    assert lab.tables(r) and lab.series(r)
    if exp_id == "extrapolation":  # the attention maps, one per encoding, drawn as text
        lines = lab.heatmap_lines(r, per_row=3)
        assert set(r.results["attention_map"]) == {"none", "sinusoidal", "learned", "rope", "alibi"}
        size = r.results["attention_map"]["alibi"]["size"]
        assert len(lines) == 1 + 2 * (1 + size + 1)


def _broken_yours(exercise):
    """A "passing" attempt whose code raises when used, naming the uid it ran as."""
    ref = lab.reference_code(exercise)
    return ref + (
        "\n\nimport os as _os\n_orig = CachedSelfAttention.forward\n"
        "def _boom(self, *a, **k):\n"
        "    raise RuntimeError(f'learner code ran as uid {_os.getuid()} pid {_os.getpid()}')\n"
        "CachedSelfAttention.forward = _boom\n"
    )


@pytest.mark.sandbox
def test_yours_replaces_the_reference_after_a_pass_and_runs_in_the_sandbox(tmp_path):
    with Store(tmp_path / "s.db") as store:
        r = lab.run_experiment(store, "kv_decode", quick=True)
        assert r.status == "completed" and r.sources == {"kv_cache": "reference"}
        # a stored passing attempt: the lab now runs that code, in another process
        aid = _attempt(store, "kv_cache", _broken_yours("kv_cache"), "pass")
        r = lab.run_experiment(store, "kv_decode", quick=True)
        assert r.status == "failed" and r.sources == {"kv_cache": "yours"}
        assert "learner code ran as uid" in r.error and "yours/kv_cache.py" in r.error
        assert f"pid {os.getpid()}" not in r.error
        if os.geteuid() == 0:
            assert "uid 65534" in r.error  # the sandbox's uid, not the app's
        assert r.verdict["attempts"] == {"kv_cache": aid}
        # a correct passing attempt completes with "yours"
        _attempt(store, "kv_cache", lab.reference_code("kv_cache"), "pass")
        r = lab.run_experiment(store, "kv_decode", quick=True)
        assert r.status == "completed" and r.sources == {"kv_cache": "yours"}


@pytest.mark.sandbox
def test_a_failing_learner_component_is_never_used(tmp_path):
    with Store(tmp_path / "s.db") as store:
        _attempt(store, "kv_cache", _broken_yours("kv_cache"), "fail")
        _attempt(store, "kv_cache", "raise SystemExit('broken at import')\n", "error")
        r = lab.run_experiment(store, "kv_decode", quick=True)
        assert r.status == "completed", r.error
        assert r.sources == {"kv_cache": "reference"}


def _cli_json(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out


@pytest.mark.sandbox
def test_cli_json_contract_and_exit_codes(capsys):
    code, obj = _cli_json(capsys, "lab", "run", "kv_decode", "--quick", "--seed", "2", "--json")
    assert code == 0
    assert CONTRACT <= set(obj)
    assert obj["experiment"] == "kv_decode" and obj["seed"] == 2 and obj["quick"] is True
    assert obj["sources"] == {"kv_cache": "reference"} and isinstance(obj["reproduced"], bool)
    assert isinstance(obj["duration_s"], float) and obj["claim"]
    assert RESULT_KEYS["kv_decode"] <= set(obj["results"])
    assert set(obj["results"]["time_s"]) == {"cache", "no_cache"}
    code, shown = _cli_json(capsys, "lab", "show", str(obj["run"]), "--json")
    assert code == 0 and {k: shown[k] for k in CONTRACT} == {k: obj[k] for k in CONTRACT}
    code, shown = _cli_json(capsys, "lab", "show", "kv_decode", "--json")
    assert code == 0 and shown["run"] == obj["run"]
    code, listing = _cli_json(capsys, "lab", "--json")
    assert code == 0 and [e["id"] for e in listing] == list(lab.EXPERIMENTS)
    assert listing[3]["last_run"]["run"] == obj["run"]
    # a failed run: exit 1, and the JSON still says what happened
    with Store() as store:
        _attempt(store, "kv_cache", _broken_yours("kv_cache"), "pass")
    code, failed = _cli_json(capsys, "lab", "run", "kv_decode", "--quick", "--json")
    assert code == 1 and failed["status"] == "failed" and failed["reproduced"] is None
    assert failed["results"] is None and failed["sources"] == {"kv_cache": "yours"}


@pytest.mark.parametrize(
    "argv",
    [
        ["lab", "run", "nope"],
        ["lab", "run", "kv_decode", "--seed", "-1"],
        ["lab", "run", "kv_decode", "--seed", "x"],
        ["lab", "show", "7"],
        ["lab", "show"],
        ["lab", "show", "nope"],
        ["lab", "run"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err.strip()


@pytest.mark.sandbox
def test_same_seed_same_numbers(tmp_path):
    with Store(tmp_path / "s.db") as store:
        a = lab.run_experiment(store, "layernorm", quick=True, seed=5)
        b = lab.run_experiment(store, "layernorm", quick=True, seed=5)
        c = lab.run_experiment(store, "layernorm", quick=True, seed=6)
    assert a.status == b.status == c.status == "completed"
    assert a.results["final_loss"] == b.results["final_loss"]
    assert a.results["grad_norm_last_layer"] == b.results["grad_norm_last_layer"]
    assert a.results["final_loss"] != c.results["final_loss"]


def _runner_processes() -> set[int]:
    """Processes whose command line runs the lab runner (anyone's)."""
    out = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if b"studytool.grader.lab.runner" in f.read():
                        out.add(int(name))
            except OSError:
                pass
    return out


def _tree(root: int) -> set[int]:
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, frontier = set(), {root}
    while frontier:
        nxt = {p for p, pp in parent.items() if pp in frontier} - out
        out |= nxt
        frontier = nxt
    return out


@pytest.mark.sandbox
def test_cancelling_kills_every_process_and_stores_nothing_as_complete(tmp_path, monkeypatch):
    started = []
    real = lab.start_runner

    def spy(exp, quick):
        run, p = real(exp, quick)
        started.append(run)
        return run, p

    monkeypatch.setattr(lab, "start_runner", spy)
    cancel = threading.Event()
    tree: set[int] = set()
    progress = []

    def on_progress(p):
        progress.append(p)
        # the workers are training: look at the whole tree, then cancel
        if len(progress) >= 2 and not cancel.is_set():
            tree.update(_tree(started[0].proc.pid) | {started[0].proc.pid})
            cancel.set()

    with Store(tmp_path / "s.db") as store:
        t0 = time.monotonic()
        r = lab.run_experiment(store, "extrapolation", quick=False, on_progress=on_progress, cancel=cancel)
        assert time.monotonic() - t0 < 120
        assert r.status == "cancelled" and r.results is None and r.reproduced is None
        assert [x.status for x in lab.runs(store)] == ["cancelled"]
        assert lab.completed_experiments(store) == {}
    runners = tree & _runner_processes() if tree else set()
    assert len(tree) >= 3  # bwrap, the runner, its two workers (at least)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = {pid for pid in tree if _state(pid) not in ("Z", None)}
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"left behind: {alive} (runners seen: {runners})"
    assert started[0].proc.poll() is not None


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.sandbox
def test_a_variant_that_cannot_run_at_a_length_is_null_not_a_failed_run(tmp_path):
    short_rope = lab.reference_code("rope") + (
        "\n\n_full = apply_rope\n"
        "def apply_rope(x, positions=None, base=10000.0):\n"
        "    if x.shape[-2] > 16:\n"
        "        raise ValueError('my RoPE only knows 16 positions')\n"
        "    return _full(x, positions, base)\n"
    )
    with Store(tmp_path / "s.db") as store:
        _attempt(store, "rope", short_rope, "pass")
        r = lab.run_experiment(store, "extrapolation", quick=True)
    assert r.status == "completed", r.error
    assert r.sources["rope"] == "yours"
    assert r.results["loss"]["rope"][0] is not None and r.results["loss"]["rope"][1:] == [None, None]
    assert "my RoPE only knows 16 positions" in r.results["errors"]["rope"]
    assert all(v is not None for v in r.results["loss"]["alibi"])
    assert not r.reproduced
    assert any("rope could not run" in f["en"] for f in r.verdict["findings"])


@pytest.mark.sandbox
def test_a_learner_component_that_hangs_is_stopped_by_the_wall_clock(tmp_path, monkeypatch):
    monkeypatch.setattr(lab.Experiment, "wall_limit", lambda self, quick: 8.0)
    started = []
    real = lab.start_runner
    monkeypatch.setattr(
        lab, "start_runner", lambda exp, quick: started.append(real(exp, quick)) or started[-1]
    )
    hang = lab.reference_code("kv_cache") + (
        "\n\nimport time as _t\n"
        "def _hang(self, *a, **k):\n"
        "    _t.sleep(3600)\n"
        "CachedSelfAttention.forward = _hang\n"
    )
    with Store(tmp_path / "s.db") as store:
        _attempt(store, "kv_cache", hang, "pass")
        t0 = time.monotonic()
        r = lab.run_experiment(store, "kv_decode", quick=True)
        assert time.monotonic() - t0 < 30
    assert r.status == "failed" and "wall-clock limit" in r.error and r.results is None
    run, _ = started[0]
    assert run.proc.poll() is not None

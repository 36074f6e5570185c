"""`lab`: list the experiments, run one in the sandbox, show a stored run.

Exit codes: 0 when a run completed (whatever it found), 1 when it failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata

from studytool import lab
from studytool.cli import UsageError
from studytool.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lab",
        help="the lab: run the lecture's experiments on your own code",
        description="List the experiments (no action), run one, or show a stored run. "
        "Each experiment uses your code for a component once its exercise has passed, "
        "the reference otherwise; your code runs only in the grader's sandbox.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    r = actions.add_parser(
        "run",
        help="run one experiment and store the run",
        description="Run one experiment in the sandbox and store it. Exit 0 when "
        "it completed (whatever it found), 1 when it failed.",
    )
    r.add_argument("id", help=f"experiment id: {', '.join(lab.EXPERIMENTS)}")
    r.add_argument("--quick", action="store_true", help="small settings (seconds, not minutes)")
    r.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    r.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    r.add_argument("--lang", choices=["en", "zh"], default=argparse.SUPPRESS)
    s = actions.add_parser(
        "show",
        help="show a stored run (default: the latest)",
        description="Show a stored run: its number, or an experiment id for "
        "that experiment's latest run; nothing for the latest run of all.",
    )
    s.add_argument("run", nargs="?", help="run number or experiment id")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    s.add_argument("--lang", choices=["en", "zh"], default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_lab)


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= n < 2**31:
        raise argparse.ArgumentTypeError(f"the seed must be between 0 and {2**31 - 1}")
    return n


def cmd_lab(args: argparse.Namespace) -> int:
    if args.action == "run":
        return _run(args)
    if args.action == "show":
        return _show(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    lang = args.lang
    with Store() as store:
        last = lab.last_runs(store)
        sources = {
            e.id: {c: s.kind for c, s in lab.choose_sources(store, e).items()}
            for e in lab.EXPERIMENTS.values()
        }
    if args.json:
        out = []
        for e in lab.EXPERIMENTS.values():
            r = last.get(e.id)
            out.append(
                {
                    "id": e.id,
                    "title": e.title,
                    "claim": e.claim,
                    "questions": list(e.questions),
                    "checklist": list(e.checklist),
                    "sources": sources[e.id],
                    "last_run": None
                    if r is None
                    else {
                        "run": r.id,
                        "status": r.status,
                        "quick": r.quick,
                        "seed": r.seed,
                        "reproduced": r.reproduced,
                        "at": lab.to_iso(r.finished_at),
                    },
                }
            )
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for e in lab.EXPERIMENTS.values():
        r = last.get(e.id)
        print(f"{e.id}  {e.title[lang]}")
        qs = ", ".join(q.upper() for q in e.questions)
        print(
            ("  serves: " if lang == "en" else "  对应：")
            + f"{qs}; "
            + ("checklist " if lang == "en" else "清单 ")
            + ", ".join(e.checklist)
        )
        print(
            ("  code: " if lang == "en" else "  代码：")
            + ", ".join(f"{c} {lab.source_label(k, lang)}" for c, k in sources[e.id].items())
        )
        if r is None:
            print("  last run: never" if lang == "en" else "  上次运行：无")
        else:
            when = r.finished_at.astimezone().strftime("%Y-%m-%d %H:%M")
            what = lab.verdict_line(r, lang) if r.status == "completed" else r.status
            quick = (" (quick)" if lang == "en" else "（快速）") if r.quick else ""
            print(("  last run: " if lang == "en" else "  上次运行：") + f"#{r.id} {when}{quick} — {what}")
    print()
    print(
        "Run one: studytool lab run ID [--quick] [--seed N]"
        if lang == "en"
        else "运行：studytool lab run ID [--quick] [--seed N]"
    )
    return 0


def _progress_printer(enabled: bool):
    state = {"last": 0.0}

    def show(p: dict) -> None:
        if not enabled:
            return
        now = time.monotonic()
        if now - state["last"] < 0.2 and p["done"] < p["total"]:
            return
        state["last"] = now
        width = 30
        fill = int(width * p["done"] / max(1, p["total"]))
        sys.stderr.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {100 * p['done'] // max(1, p['total']):3d}%"
            f"  {p['stage'][:40]:<40}"
        )
        sys.stderr.flush()

    return show


def _run(args: argparse.Namespace) -> int:
    try:
        exp = lab.experiment(args.id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    as_json = getattr(args, "json", False)
    lang = getattr(args, "lang", "en")
    tty = sys.stderr.isatty()
    if not as_json:
        if lang == "zh":
            print(f"{exp.title[lang]}（{'快速，' if args.quick else ''}种子 {args.seed}）")
        else:
            print(f"{exp.title[lang]} ({'quick, ' if args.quick else ''}seed {args.seed})")
        print(exp.claim[lang])
        print()
    with Store() as store:
        show = _progress_printer(tty)
        run = lab.run_experiment(store, exp.id, quick=args.quick, seed=args.seed, on_progress=show)
    if tty:
        sys.stderr.write("\r" + " " * 80 + "\r")
    if as_json:
        json.dump(run.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_run(run, lang, header=False)
    return 0 if run.status == "completed" else 1


def _find(store: Store, ref: str | None) -> lab.LabRun:
    if ref is None:
        all_runs = lab.runs(store)
        if not all_runs:
            raise UsageError("no lab runs yet: start one with `studytool lab run ID`")
        return all_runs[-1]
    if ref.lstrip("#").isdigit():
        r = lab.get_run(store, int(ref.lstrip("#")))
        if r is None:
            raise UsageError(f"no lab run #{ref.lstrip('#')} (see `studytool lab`)")
        return r
    try:
        exp = lab.experiment(ref)
    except KeyError as exc:
        raise UsageError(f"{exc.args[0]}; or give a run number") from None
    found = lab.runs(store, exp.id)
    if not found:
        raise UsageError(f"no runs of {exp.id} yet: start one with `studytool lab run {exp.id}`")
    return found[-1]


def _show(args: argparse.Namespace) -> int:
    with Store() as store:
        run = _find(store, args.run)
    if getattr(args, "json", False):
        json.dump(run.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    _print_run(run, getattr(args, "lang", "en"), header=True)
    return 0


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _print_table(t: lab.Table) -> None:
    print(t.title)
    widths = [max(_width(row[i]) for row in [t.headers] + t.rows) for i in range(len(t.headers))]
    for k, row in enumerate([t.headers] + t.rows):
        cells = [_pad(row[0], widths[0], False)] + [_pad(c, w, True) for c, w in zip(row[1:], widths[1:])]
        print("  " + "  ".join(cells).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print()


def _print_run(run: lab.LabRun, lang: str, header: bool) -> None:
    zh = lang == "zh"
    exp = lab.EXPERIMENTS.get(run.experiment)
    if header and exp is not None:
        when = run.finished_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(
            f"#{run.id} {exp.title[lang]} — {when}, "
            + ("quick, " if run.quick and not zh else "快速，" if run.quick else "")
            + (f"seed {run.seed}" if not zh else f"种子 {run.seed}")
        )
        print(("Claim: " if not zh else "论文结论：") + exp.claim[lang])
        print()
    print(
        ("Code: " if not zh else "代码：")
        + ", ".join(f"{c} {lab.source_label(k, lang)}" for c, k in run.sources.items())
    )
    print()
    for t in lab.tables(run, lang):
        _print_table(t)
    for line in lab.heatmap_lines(run, lang, per_row=4):
        print(("  " + line) if line and not line.startswith(("Where", "长度")) else line)
    for f in run.verdict.get("findings", []):
        print("- " + f.get(lang, f.get("en", "")))
    if run.verdict.get("findings"):
        print()
    print(lab.verdict_line(run, lang))
    cav = run.verdict.get("caveats", [])
    if cav:
        print()
        print("What this run cannot show:" if not zh else "这次运行说明不了的：")
        for c in cav:
            print("- " + c.get(lang, c.get("en", "")))
    if run.quick and run.status == "completed":
        print()
        print(
            "A quick run uses tiny settings to check the machinery; its numbers are too small to "
            "judge the claim — run without --quick for that."
            if not zh
            else "快速运行只用很小的设置来检查流程，数字太小，不足以判断论文结论——要判断请去掉 --quick。"
        )
    env = run.environment
    print()
    if zh:
        print(
            f"运行 #{run.id}，{run.duration_s:.1f} 秒"
            + (
                f"；torch {env['torch']}，每个进程 {env.get('threads')} 个线程，"
                f"{env.get('workers')} 个工作进程"
                if env.get("torch")
                else ""
            )
            + (f"；沙箱 {env['sandbox']}" if env.get("sandbox") else "")
        )
    else:
        print(
            f"Run #{run.id}, {run.duration_s:.1f} s"
            + (
                f"; torch {env['torch']}, {env.get('threads')} thread(s) per process, "
                f"{env.get('workers')} worker(s)"
                if env.get("torch")
                else ""
            )
            + (f"; sandbox {env['sandbox']}" if env.get("sandbox") else "")
        )

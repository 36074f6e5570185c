"""`validate` and `export`: check content, print all of it as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studytool import locations
from studytool.cli import UsageError, lang_of, print_problems
from studytool.content import (
    CONTENT_FILES,
    TOPIC_LABELS,
    Question,
    Text,
    default_content,
    load_content,
    validate_decks_only,
)
from studytool.i18n import plural, t


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check content YAML and print every problem as file:line: message",
        description="Check a content directory (questions, insights, flashcards, checklist) or a "
        "folder of learner decks. Exit 0 when clean, 2 when any problem is found.",
    )
    p.add_argument(
        "dir",
        nargs="?",
        type=Path,
        help="content directory or deck folder (default: the built-in content and your decks)",
    )
    p.add_argument(
        "--exercises",
        type=Path,
        metavar="EXDIR",
        help="exercises directory to validate DIR with (default: the built-in exercises)",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "questions",
        help="Q13–Q24 by topic, or one question in full",
        description="Without an id: the twelve questions grouped by topic. With an "
        "id (q13 … q24, or 13 … 24): the question, the model answer, its key points, "
        "the misconception checks and its links.",
    )
    p.add_argument("id", nargs="?", help="question id, e.g. q16 or 16")
    p.add_argument("--lang", choices=["en", "zh", "both"])
    p.set_defaults(func=cmd_questions)

    p = sub.add_parser(
        "export",
        help="all content as JSON, or an Anki package to take along",
        description="json: print all loaded content as one JSON document. apkg: write an Anki "
        "package with every flashcard and the twelve questions, English and Chinese as fields, "
        "the topic as tags; re-importing a newer export updates the notes instead of "
        "duplicating them.",
    )
    p.add_argument("format", choices=["json", "apkg"], help="output format")
    p.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="apkg only: the file to write (default ./studytool-lecture03.apkg; a "
        "folder gets that name inside it)",
    )
    p.set_defaults(func=cmd_export)


def cmd_validate(args: argparse.Namespace) -> int:
    from studytool import rules  # the language and content rules (glossary, punctuation, prose …)

    lang = lang_of(args)
    problems: list = []
    if args.dir is None:
        _, problems = load_content()
        problems += rules.check()
        scope = t("validate.scope_builtin", lang, decks=str(locations.decks_dir()))
    else:
        if not args.dir.is_dir():
            raise UsageError(t("cli.validate.not_a_dir", lang, path=args.dir))
        if any((args.dir / name).exists() for name in CONTENT_FILES):
            if args.exercises is not None and not args.exercises.is_dir():
                raise UsageError(t("cli.validate.not_a_dir", lang, path=args.exercises))
            _, problems = load_content(args.dir, args.exercises, include_decks=False)
            problems += rules.check_content_dir(args.dir, args.exercises)
            scope = str(args.dir)
        else:
            if not any(args.dir.glob("*.y*ml")):
                raise UsageError(
                    t("cli.validate.nothing", lang, path=args.dir, files=", ".join(CONTENT_FILES))
                )
            problems = validate_decks_only(args.dir) + rules.check_decks(args.dir)
            scope = t("validate.scope_decks", lang, dir=str(args.dir))
    skipped: list[str] = []
    for problem in problems:
        print(problem.render(lang) if hasattr(problem, "render") else problem)
        if getattr(problem, "deck_skipped", False) and problem.file not in skipped:
            skipped.append(problem.file)
    for file in skipped:  # a note, not one more problem: the app counts the same problems
        print(t("cli.validate.deck_skipped", lang, file=file), file=sys.stderr)
    if problems:
        print(t("validate.problems", lang, n=len(problems), scope=scope), file=sys.stderr)
        return 2
    print(t("validate.ok", lang, scope=scope), file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    if args.format == "json" and args.path is not None:
        raise UsageError(t("cli.export.json_path", lang, json="export json", apkg="export apkg"))
    content, problems = load_content()
    print_problems(problems)
    if args.format == "apkg":
        from studytool.export import ExportError, export_apkg
        from studytool.i18n import Msg

        try:
            result = export_apkg(content, args.path)
        except ExportError as exc:
            raise UsageError(t(exc.msg.key, lang, **exc.msg.fields)) from None
        kinds = [Msg(f"export.kind.{kind}", n=n) for kind, n in result.by_kind.items()]
        print(t("export.wrote", lang, notes=result.notes, kinds=kinds, path=str(result.path)))
        if not result.first:
            same = result.notes - result.changed
            print(t("export.changed", lang, changed=result.changed, same=same), file=sys.stderr)
        if not result.state_saved:
            print(
                t("export.state_not_saved", lang, path=str(locations.anki_export_state_path())),
                file=sys.stderr,
            )
        print(t("export.import_hint", lang), file=sys.stderr)
        return 0
    json.dump(content.to_json(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _say(text: Text, lang: str) -> str:
    return f"{text.en}\n{text.zh}" if lang == "both" else text.get(lang)


def cmd_questions(args: argparse.Namespace) -> int:
    content, problems = default_content()
    print_problems(problems)
    lang = args.lang
    ui = lang_of(args)
    label = 1 if lang == "zh" else 0
    if args.id is None:
        topic = None
        for q in content.questions:
            if q.topic != topic:
                topic = q.topic
                print(f"\n{TOPIC_LABELS[topic][label]}")
            print(f"  {q.id}  {_say(q.title, lang).replace(chr(10), ' / ')}")
        return 0
    qid = args.id.lower()
    qid = f"q{qid}" if qid.isdigit() else qid
    q = content.item(qid)
    if not isinstance(q, Question):
        known = ", ".join(x.id for x in content.questions)
        raise UsageError(t("cli.questions.unknown", ui, id=args.id, known=known))
    print(f"Q{q.number} · {TOPIC_LABELS[q.topic][label]}\n{_say(q.question, lang)}\n")
    print(_say(q.answer, lang))
    print("\n" + t("cli.questions.key_points", ui))
    for i, kp in enumerate(q.key_points, 1):
        print(f"  {i}. {_say(kp, lang)}")
    checks = content.misconception_checks(q)
    if checks:
        print("\n" + t("cli.questions.checks", ui))
        for c in checks:
            verdict = t("cli.questions.true" if c.true else "cli.questions.false", ui)
            print(f"  • {_say(c.statement, lang)}  [{verdict}]\n    {_say(c.explanation, lang)}")
    links = [t("cli.questions.insight", ui, id=i) for i in q.insights] + [
        t("cli.questions.exercise", ui, id=e) for e in q.exercises
    ]
    if links:
        sep = "、" if ui == "zh" else ", "
        cards = plural("review.n_cards", len(q.cards))
        print("\n" + t("cli.questions.links", ui, links=sep.join(links), cards=cards))
    return 0

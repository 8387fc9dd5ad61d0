"""Score the run-path grounding verifier on every packaged probe set of a domain, in one table.

    PYTHONPATH=src .venv/bin/python benchmarks/probe_sets.py [--domain retail] [--json]
        [--sets dev,dev2,...] [--compare BEFORE.json]

Each set is scored exactly as `tether eval grounding --data SET --domain DOMAIN` scores it (the
pack's verifier with its configuration; no judge). The sets are the folders beside the one its
release gate scores, in the order their names sort naturally: dev, dev2, dev3, ..., dev10, ...,
and heldout last. The held-out half is only measured here: its figures are printed, its answers
never are. `--json` prints {set: {"f1", "precision", "recall", "false_alarm_rate", "n",
"tasks": {task: the same}}}; `--compare` prints each figure beside the one a previous `--json`
run saved, so a change to the checks is judged on every set at once. `--errors SET` lists a
development set's misses and false alarms instead, each with the claims that decided it (the
held-out half is refused).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from tether.core.errors import TetherError
from tether.grounding.ragtruth import evaluate, load_dataset
from tether.sdk import load_domain

FIGURES = ("f1", "precision", "recall", "false_alarm_rate")
HELD_OUT = "heldout"


def probe_root(domain: str) -> Path:
    """The folder holding the pack's probe sets: the one its release gate's set is in."""
    probes = load_domain(domain).grounding_probes
    if probes is None:
        raise SystemExit(f"the {domain} pack ships no grounding probes")
    return probes.parent


def natural(name: str) -> tuple[int, str, int]:
    """dev < dev2 < ... < dev12 < heldout."""
    match = re.fullmatch(r"([a-z]+)(\d*)", name)
    stem, number = (match.group(1), match.group(2)) if match else (name, "")
    return (name == HELD_OUT, stem, int(number or 1))


def score_sets(domain: str, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """{set: figures} for the named sets (default: all), scored by the pack's verifier."""
    root = probe_root(domain)
    found = sorted((p.name for p in root.iterdir() if (p / "qa.jsonl").exists()), key=natural)
    unknown = sorted(set(names or ()) - set(found))
    if unknown:
        raise SystemExit(f"no probe set named {', '.join(unknown)} under {root}")
    grounding = load_domain(domain).grounding
    verifier = grounding.verifier(None, grounding.config)
    out: dict[str, dict[str, Any]] = {}
    for name in names or found:
        report = evaluate(
            load_dataset(root / name),
            lambda e: verifier.verify_source(e.task, e.source, e.response, e.tool).flagged,
        ).to_dict()
        figures = {k: report["overall"][k] for k in (*FIGURES, "n")}
        figures["tasks"] = {
            task: {k: s[k] for k in (*FIGURES, "n")} for task, s in report["tasks"].items()
        }
        out[name] = figures
    return out


def errors(domain: str, name: str) -> list[str]:
    """A development set's misses and false alarms, with the claims that flagged each."""
    if name == HELD_OUT:
        raise SystemExit("the held-out half is measured, never read: pick a development set")
    root = probe_root(domain)
    if not (root / name / "qa.jsonl").exists():
        raise SystemExit(f"no probe set named {name} under {root}")
    grounding = load_domain(domain).grounding
    verifier = grounding.verifier(None, grounding.config)
    lines = []
    for task, examples in load_dataset(root / name).items():
        for example in examples:
            found = verifier.verify_source(task, example.source, example.response, example.tool)
            if found.flagged == example.hallucinated:
                continue
            what = "false alarm" if found.flagged else "miss"
            lines.append(f"[{task}] {what}: {' '.join(example.response.split())}")
            strict = verifier.config.strict
            for claim in found.claims:
                if claim.hard(verifier.config.hard) or (strict and claim.decisive):
                    why = "; ".join(claim.reasons)
                    lines.append(f"    {claim.status} {claim.text!r}: {why}")
    return lines


def table(scores: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]] | None) -> str:
    lines = [
        f"{'set':<9} {'n':>4} {'F1':>13} {'precision':>13} {'recall':>13} {'false alarms':>15}"
    ]
    for name, figures in scores.items():
        cells = []
        for key in FIGURES:
            now = figures[key]
            was = (before or {}).get(name, {}).get(key)
            text = f"{now:.3f}" if was is None or was == now else f"{was:.3f}->{now:.3f}"
            cells.append(text)
        lines.append(f"{name:<9} {figures['n']:>4} " + " ".join(f"{c:>13}" for c in cells))
    return "\n".join(lines)


def previous(path: Path) -> dict[str, dict[str, Any]]:
    """A saved `--json` table, checked before anything is scored: a clear message, not a
    traceback, for a file that is missing or is not such a table."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SystemExit(f"--compare {path}: cannot read a saved table ({exc})") from None
    shaped = isinstance(saved, dict) and all(
        isinstance(figures, dict)
        and all(isinstance(figures.get(k, 0.0), int | float) for k in FIGURES)
        for figures in saved.values()
    )
    if not shaped:
        raise SystemExit(f"--compare {path}: not a table this script saved with --json")
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="retail")
    parser.add_argument("--sets", help="comma-separated set names (default: every set)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--compare", type=Path, help="a previous --json output to compare with")
    parser.add_argument("--errors", metavar="SET", help="list a development set's errors")
    args = parser.parse_args(argv)
    before = previous(args.compare) if args.compare else None
    try:
        if args.errors:
            print("\n".join(errors(args.domain, args.errors)) or "no errors")
            return 0
        names = [n.strip() for n in args.sets.split(",") if n.strip()] if args.sets else None
        scores = score_sets(args.domain, names)
    except TetherError as exc:  # an unknown domain pack, a probe file that does not load
        raise SystemExit(f"{exc.code.value}: {exc.message}") from None
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    print(table(scores, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fit the grounding verifier's answer-level rule (src/tether/grounding/verifier_model.json).

    .venv/bin/python benchmarks/train_verifier.py [--data ../shared/data/ragtruth-dev] [--cv-only]

The verifier runs its claim checks on every RAGTruth response once; a logistic model per task
then weighs the domain-neutral features (`tether.grounding.aggregate.FEATURES`). Every tuned
number is chosen inside cross-validation folds grouped by source id (no fold is scored on a
source it was fitted on): the weights, and the operating point, which maximises F1 subject to
false alarms on faithful responses of at most `--max-false-alarms` on inner out-of-fold scores.
The answer is flagged as the runtime flags it: a contradicted claim, or the score at the point.
Printed figures are held-out (outer fold) figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tether.grounding.aggregate import FEATURES, Aggregate, Logistic
from tether.grounding.detector import TASKS
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.ragtruth import load_dataset
from tether.grounding.verifier import Verifier
from train_detector import FOLDS, fit_logistic, folds_by_source, predict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ragtruth-dev"
DEFAULT_OUT = ROOT / "src" / "tether" / "grounding" / "verifier_model.json"
_NEUTRAL = Aggregate({"qa": Logistic((0.0,), (1.0,), (0.0,), 0.0)}, 0.5, {})


class TaskData:
    """One task's features, hard flags (a contradicted claim), labels and source groups."""

    def __init__(self, task: str, examples: list[Any], verifier: Verifier) -> None:
        self.task = task
        rows, hard = [], []
        for e in examples:
            verdicts, x, _ = verifier.examine(e.response, EvidenceSet.from_source(task, e.source))
            rows.append(x)
            hard.append(any(v.hard(verifier.config.hard) for v in verdicts))
        self.x = np.array(rows, dtype=float)
        self.hard = np.array(hard, dtype=bool)
        self.y = np.array([int(e.hallucinated) for e in examples])
        self.groups = np.array([e.source_id for e in examples])


def scores(y: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    faithful = int(np.sum(y == 0))
    return {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "false_alarm_rate": fp / faithful if faithful else 0.0,
    }


def pick_point(y: np.ndarray, p: np.ndarray, hard: np.ndarray, max_fa: float) -> float:
    """The score threshold with the best F1 whose false-alarm rate stays within `max_fa`."""
    best, best_f1 = 1.0, -1.0
    for t in np.unique(np.round(p, 4)):
        s = scores(y, hard | (p >= t))
        if s["false_alarm_rate"] <= max_fa and s["f1"] > best_f1:
            best, best_f1 = float(t), s["f1"]
    return best


def pick_points(
    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], max_fa: float
) -> dict[str, float]:
    """One threshold per task, by coordinate ascent on the pooled F1 within `max_fa`."""
    y = np.concatenate([v[0] for v in parts.values()])
    p = np.concatenate([v[1] for v in parts.values()])
    hard = np.concatenate([v[2] for v in parts.values()])
    start = pick_point(y, p, hard, max_fa)
    points = dict.fromkeys(parts, start)

    def pooled(trial: dict[str, float]) -> dict[str, float]:
        flagged = np.concatenate([h | (q >= trial[t]) for t, (_, q, h) in parts.items()])
        return scores(y, flagged)

    for _ in range(2):
        for task, (_, q, _) in parts.items():
            best, best_f1 = points[task], pooled(points)["f1"]
            for t in np.unique(np.round(q, 3)):
                s = pooled({**points, task: float(t)})
                if s["false_alarm_rate"] <= max_fa and s["f1"] > best_f1 + 1e-9:
                    best, best_f1 = float(t), s["f1"]
            points[task] = best
    return points


def inner_scores(data: TaskData, rows: np.ndarray, l2: float, seed: int) -> np.ndarray:
    inner = folds_by_source(data.groups[rows], FOLDS - 1, seed)
    p = np.zeros(len(rows))
    for f in range(FOLDS - 1):
        train, test = rows[inner != f], rows[inner == f]
        p[inner == f] = predict(fit_logistic(data.x[train], data.y[train], l2), data.x[test])
    return p


def cross_validate(
    tasks: dict[str, TaskData], l2: float, max_fa: float, seed: int
) -> dict[str, dict[str, float]]:
    flagged = {t: np.zeros(len(d.y), bool) for t, d in tasks.items()}
    folds = {t: folds_by_source(d.groups, FOLDS, seed) for t, d in tasks.items()}
    for f in range(FOLDS):
        held: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        inner: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for task, d in tasks.items():
            train = np.flatnonzero(folds[task] != f)
            test = np.flatnonzero(folds[task] == f)
            held[task] = (test, predict(fit_logistic(d.x[train], d.y[train], l2), d.x[test]))
            inner[task] = (d.y[train], inner_scores(d, train, l2, seed + 1), d.hard[train])
        points = pick_points(inner, max_fa)
        for task, (test, p) in held.items():
            flagged[task][test] = tasks[task].hard[test] | (p >= points[task])
    out = {t: scores(d.y, flagged[t]) for t, d in tasks.items()}
    out["overall"] = scores(
        np.concatenate([d.y for d in tasks.values()]), np.concatenate(list(flagged.values()))
    )
    return out


def fit(tasks: dict[str, TaskData], l2: float, max_fa: float, seeds: int) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    inner: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for task, d in tasks.items():
        m = fit_logistic(d.x, d.y, l2)
        kinds[task] = {k: [round(float(v), 8) for v in m[k]] for k in ("mean", "scale", "weights")}
        kinds[task]["bias"] = round(float(m["bias"]), 8)
        every = np.arange(len(d.y))
        p = np.concatenate([inner_scores(d, every, l2, seed) for seed in range(seeds)])
        inner[task] = (np.tile(d.y, seeds), p, np.tile(d.hard, seeds))
    points = pick_points(inner, max_fa)
    for task in kinds:
        kinds[task]["operating_point"] = round(points[task], 4)
    return {"kinds": kinds, "operating_point": round(points["qa"], 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seeds", type=int, default=3, help="repeats of the cross-validation")
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--max-false-alarms", type=float, default=0.18)
    parser.add_argument("--profile", default="default", choices=("default", "listings"))
    parser.add_argument("--cv-only", action="store_true", help="print held-out figures only")
    args = parser.parse_args(argv)

    from tether.grounding.verifier import VerifierConfig

    started = time.perf_counter()
    verifier = Verifier(VerifierConfig(profile=args.profile), aggregate=_NEUTRAL)
    dataset = load_dataset(args.data)
    tasks = {t: TaskData(t, list(dataset[t]), verifier) for t in TASKS if t in dataset}
    print(
        f"checked {sum(len(d.y) for d in tasks.values())} responses "
        f"in {time.perf_counter() - started:.1f} s"
    )
    runs = [cross_validate(tasks, args.l2, args.max_false_alarms, s) for s in range(args.seeds)]
    held: dict[str, dict[str, float]] = {}
    print(f"{'':<10}{'F1':>7}{'sd':>7}{'prec':>7}{'recall':>7}{'false al.':>10}")
    for name in [*tasks, "overall"]:
        f1s = np.array([r[name]["f1"] for r in runs])
        mean = {k: float(np.mean([r[name][k] for r in runs])) for k in runs[0][name]}
        held[name] = {k: round(v, 4) for k, v in mean.items()} | {
            "f1_sd": round(float(f1s.std()), 4)
        }
        print(
            f"{name:<10}{mean['f1']:>7.3f}{f1s.std():>7.3f}{mean['precision']:>7.3f}"
            f"{mean['recall']:>7.3f}{mean['false_alarm_rate']:>10.3f}"
        )
    if args.cv_only:
        return 0
    model = fit(tasks, args.l2, args.max_false_alarms, args.seeds)
    model = {
        "version": 1,
        "features": list(FEATURES),
        **model,
        "meta": {
            "data": "RAGTruth development half (ragtruth-dev)",
            "profile": args.profile,
            "l2": args.l2,
            "max_false_alarms": args.max_false_alarms,
            "cross_validation": f"{args.seeds} x {FOLDS}-fold, grouped by source_id",
            "held_out": held,
        },
    }
    args.out.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    points = {k: v["operating_point"] for k, v in model["kinds"].items()}
    print(f"operating points {points}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

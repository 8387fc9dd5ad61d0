"""Fit the grounding verifier's answer-level rule (src/tether/grounding/verifier_model.json).

    PYTHONPATH=src .venv/bin/python benchmarks/train_verifier.py [--data DIR] [--cv-only]
        [--seeds 3] [--l2-grid 1,3,10,30,100] [--counts events|log|raw]

The verifier runs its claim checks on every RAGTruth response once; a logistic model per task
then weighs the domain-neutral features (`tether.grounding.aggregate.FEATURES`). Counts of
things found (whole-number features that are zero in at least half the training rows:
contradicted claims, unseen names…) are taken as log(1 + count); `--counts log` does so for
every count, the answer's size too, `--counts raw` for none. The shipped rule is fitted with
`--counts log --seeds 5`. Each model keeps the range of every feature and the least unverified content
among the rows it was fitted on; the runtime holds an answer to them (see
`tether.grounding.aggregate.Logistic`), and so does the scoring here.

Every tuned number is chosen inside cross-validation folds grouped by source id (no fold is
scored on a source it was fitted on, nor on a choice made with it): the weights; the penalty,
per task, from `--l2-grid` by the log-loss of inner out-of-fold scores; and the operating point
per task, which maximises F1 subject to false alarms on faithful responses of at most
`--max-false-alarms` on those inner scores. The answer is flagged as the runtime flags it: a
contradicted claim, or the score at the point. Printed figures are held-out (outer fold)
figures only, with the CPU time the claim checks took per response.

After a refit, a domain pack's own operating point is re-chosen on its development probes:

    PYTHONPATH=src .venv/bin/python benchmarks/train_verifier.py --pack-point retail \
        --probes src/tether/domains/retail/data/grounding_probes/dev \
        --probes src/tether/domains/retail/data/grounding_probes/dev2 --reference BEFORE.json

where BEFORE.json is the model file before the refit (`git show HEAD:src/tether/grounding/
verifier_model.json`). Held-out probe folders are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tether.grounding.aggregate import FEATURES, Aggregate, Logistic, below_range, unverified
from tether.grounding.detector import TASKS
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.ragtruth import load_dataset
from tether.grounding.verifier import Verifier
from train_detector import FOLDS, fit_logistic, folds_by_source, predict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ragtruth-dev"
DEFAULT_OUT = ROOT / "src" / "tether" / "grounding" / "verifier_model.json"
_NEUTRAL = Aggregate({"qa": Logistic((0.0,), (1.0,), (0.0,), 0.0)}, 0.5, {})


@dataclass
class TaskData:
    """One task's features, hard flags (a contradicted claim), labels, source groups, and the
    CPU milliseconds the claim checks took per response."""

    task: str
    x: np.ndarray
    hard: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    ms: np.ndarray

    @classmethod
    def checked(cls, task: str, examples: list[Any], verifier: Verifier) -> TaskData:
        """Run the verifier's claim checks on every response once."""
        rows, hard, ms = [], [], []
        for e in examples:
            started = time.process_time()
            verdicts, x, _ = verifier.examine(e.response, EvidenceSet.from_source(task, e.source))
            ms.append((time.process_time() - started) * 1000)
            rows.append(x)
            hard.append(any(v.hard(verifier.config.hard) for v in verdicts))
        return cls(
            task,
            np.array(rows, dtype=float),
            np.array(hard, dtype=bool),
            np.array([int(e.hallucinated) for e in examples]),
            np.array([e.source_id for e in examples]),
            np.array(ms),
        )


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


def count_columns(x: np.ndarray, counts: str) -> np.ndarray:
    """The columns to take on a log scale: for `log`, those whose values are all non-negative
    whole numbers (the counts); for `events`, the counts that are zero in at least half the
    rows (things found, not the answer's size); for `raw`, none."""
    found = np.all((x >= 0) & (x == np.round(x)), axis=0)
    if counts == "events":
        found &= np.median(x, axis=0) == 0
    return np.flatnonzero(found) if counts != "raw" else np.array([], dtype=int)


def fit_model(x: np.ndarray, y: np.ndarray, l2: float, counts: str) -> dict[str, Any]:
    """A logistic fit, the counts found in `x` on a log scale as `counts` says, with the range
    of each feature and the least unverified content among the rows it was fitted on (the
    runtime holds an answer to that range: see `tether.grounding.aggregate.Logistic`)."""
    columns = count_columns(x, counts)
    model = fit_logistic(logged(x, columns), y, l2)
    said = [unverified(row) for row in x.tolist()]
    return model | {
        "log1p": columns,
        "low": x.min(axis=0),
        "high": x.max(axis=0),
        "min_unverified": float(min((v for v in said if np.isfinite(v)), default=0.0)),
    }


def logged(x: np.ndarray, columns: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, columns] = np.log1p(np.maximum(out[:, columns], 0.0))
    return out


def score(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    p = predict(model, logged(np.clip(x, model["low"], model["high"]), model["log1p"]))
    least = model["min_unverified"]
    if least > 0:
        said = [unverified(row) for row in x.tolist()]
        p = np.array([below_range(q, s, least) for q, s in zip(p.tolist(), said, strict=True)])
    return p


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def inner_scores(data: TaskData, rows: np.ndarray, l2: float, seed: int, counts: str) -> np.ndarray:
    """Out-of-fold scores of `rows`, from models fitted on the other sources among `rows`."""
    inner = folds_by_source(data.groups[rows], FOLDS - 1, seed)
    p = np.zeros(len(rows))
    for f in range(FOLDS - 1):
        train, test = rows[inner != f], rows[inner == f]
        p[inner == f] = score(fit_model(data.x[train], data.y[train], l2, counts), data.x[test])
    return p


def choose_l2(
    data: TaskData, rows: np.ndarray, grid: tuple[float, ...], seeds: range, counts: str
) -> tuple[float, np.ndarray]:
    """The penalty from `grid` whose inner out-of-fold scores of `rows` have the lowest
    log-loss (averaged over `seeds`), and those scores, seed after seed. Only `rows` are read."""
    best: tuple[float, float, np.ndarray] | None = None
    for l2 in grid:
        p = np.concatenate([inner_scores(data, rows, l2, seed, counts) for seed in seeds])
        loss = log_loss(np.tile(data.y[rows], len(seeds)), p)
        if best is None or loss < best[0] - 1e-12:
            best = (loss, l2, p)
    assert best is not None, "the penalty grid is empty"
    return best[1], best[2]


def cross_validate(
    tasks: dict[str, TaskData], grid: tuple[float, ...], max_fa: float, seed: int, counts: str
) -> tuple[dict[str, dict[str, float]], list[dict[str, float]]]:
    """Held-out scores of one repeat, and the penalty each outer fold chose per task."""
    flagged = {t: np.zeros(len(d.y), bool) for t, d in tasks.items()}
    folds = {t: folds_by_source(d.groups, FOLDS, seed) for t, d in tasks.items()}
    chosen: list[dict[str, float]] = []
    for f in range(FOLDS):
        held: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        inner: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        chosen.append({})
        for task, d in tasks.items():
            train = np.flatnonzero(folds[task] != f)
            test = np.flatnonzero(folds[task] == f)
            l2, p = choose_l2(d, train, grid, range(seed + 1, seed + 2), counts)
            chosen[-1][task] = l2
            held[task] = (test, score(fit_model(d.x[train], d.y[train], l2, counts), d.x[test]))
            inner[task] = (d.y[train], p, d.hard[train])
        points = pick_points(inner, max_fa)
        for task, (test, p) in held.items():
            flagged[task][test] = tasks[task].hard[test] | (p >= points[task])
    out = {t: scores(d.y, flagged[t]) for t, d in tasks.items()}
    out["overall"] = scores(
        np.concatenate([d.y for d in tasks.values()]), np.concatenate(list(flagged.values()))
    )
    return out, chosen


def fit(
    tasks: dict[str, TaskData], grid: tuple[float, ...], max_fa: float, seeds: int, counts: str
) -> dict[str, Any]:
    """The shipped rule: per task the penalty chosen on inner folds over every source, the
    weights fitted on all of them, the operating points picked on the inner scores."""
    kinds: dict[str, Any] = {}
    inner: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for task, d in tasks.items():
        every = np.arange(len(d.y))
        l2, p = choose_l2(d, every, grid, range(seeds), counts)
        m = fit_model(d.x, d.y, l2, counts)
        kinds[task] = {k: [round(float(v), 8) for v in m[k]] for k in ("mean", "scale", "weights")}
        kinds[task] |= {k: [float(v) for v in m[k]] for k in ("low", "high")}
        kinds[task] |= {
            "min_unverified": m["min_unverified"],
            "bias": round(float(m["bias"]), 8),
            "l2": l2,
            "log1p": [FEATURES[j] for j in m["log1p"]],
        }
        inner[task] = (np.tile(d.y, seeds), p, np.tile(d.hard, seeds))
    points = pick_points(inner, max_fa)
    for task in kinds:
        kinds[task]["operating_point"] = round(points[task], 4)
    return {"kinds": kinds, "operating_point": round(points["qa"], 4)}


POINT_STEP = 0.05  # a coarse grid: the pack's point is not fitted to one probe's score


def probe_figures(verifier: Verifier, folders: list[Path]) -> tuple[np.ndarray, ...]:
    """Labels, flags that do not depend on the point (a hard contradiction, a decisive claim in
    strict mode) and scores of a pack's labelled probes, as the pack's agents verify them."""
    y, base, score = [], [], []
    for folder in folders:
        for task, examples in load_dataset(folder).items():
            for e in examples:
                evidence = EvidenceSet.from_source(task, e.source, verifier.fields, e.tool)
                v = verifier.verify(e.response, evidence, kind=task, operating_point=1.0)
                y.append(int(e.hallucinated))
                base.append(v.flagged and v.score < 1.0)
                score.append(v.score)
    return np.array(y), np.array(base, dtype=bool), np.array(score)


def pack_point(
    domain: str, folders: list[Path], reference: Path, out: Path
) -> tuple[float, dict[str, float], dict[str, float]] | None:
    """The pack's current point if the aggregate in `out` flags there, on `folders` pooled, no
    more faithful probes and no fewer unfaithful ones than the `reference` aggregate does at
    that point; else the lowest point on a POINT_STEP grid that does; None if none does."""
    if any("heldout" in f.resolve().parts for f in folders):
        raise SystemExit("a held-out probe folder is never used to choose an operating point")
    from tether.cli.common import open_domain

    pack = open_domain(domain).grounding
    current = pack.config.operating_point
    if current is None:
        raise SystemExit(f"the {domain} pack sets no operating point of its own")
    base_verifier = pack.verifier()
    figures = []
    for path in (reference, out):
        aggregate = Aggregate.from_dict(widened(json.loads(path.read_text(encoding="utf-8"))))
        verifier = Verifier(
            base_verifier.config,
            vocabulary=base_verifier.vocabulary,
            fields=base_verifier.fields,
            aggregate=aggregate,
        )
        figures.append(probe_figures(verifier, folders))
    (y, base, p), (y_new, base_new, p_new) = figures
    before = scores(y, base | (p >= current))
    # the point in force first: a refit that keeps the probes' figures there moves nothing
    grid = np.arange(POINT_STEP, 1.0 + 1e-9, POINT_STEP)
    for point in [current, *grid]:
        after = scores(y_new, base_new | (p_new >= point))
        if (
            after["false_alarm_rate"] <= before["false_alarm_rate"]
            and after["recall"] >= before["recall"]
        ):
            return round(float(point), 2), before, after
    return None


def widened(data: dict[str, Any]) -> dict[str, Any]:
    """A model file fitted on fewer of today's features, re-expressed over all of them: a
    feature it did not have enters with weight 0, so it scores exactly as it did."""
    names = list(data["features"])
    if names == list(FEATURES) or not set(names) <= set(FEATURES):
        return data
    kinds = {}
    for kind, m in data["kinds"].items():
        column = {name: j for j, name in enumerate(names)}
        pick = {
            key: [m[key][column[f]] if f in column else empty for f in FEATURES]
            for key, empty in (("mean", 0.0), ("scale", 1.0), ("weights", 0.0))
        }
        kinds[kind] = {**m, **pick}
    return {**data, "features": list(FEATURES), "kinds": kinds}


def l2_grid(text: str) -> tuple[float, ...]:
    """`--l2-grid`: positive penalties separated by commas."""
    try:
        grid = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not all(v > 0 and np.isfinite(v) for v in grid):
        raise argparse.ArgumentTypeError(f"penalties must be positive: {text!r}")
    return grid


def summary(runs: list[dict[str, dict[str, float]]], names: list[str]) -> dict[str, Any]:
    """Mean over repeats of each figure, with each repeat's F1 and false alarms."""
    held: dict[str, Any] = {}
    for name in names:
        f1s = [r[name]["f1"] for r in runs]
        mean = {k: float(np.mean([r[name][k] for r in runs])) for k in runs[0][name]}
        held[name] = {k: round(v, 4) for k, v in mean.items()} | {
            "f1_sd": round(float(np.std(f1s)), 4),
            "f1_per_seed": [round(v, 4) for v in f1s],
            "false_alarm_rate_per_seed": [round(r[name]["false_alarm_rate"], 4) for r in runs],
        }
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seeds", type=int, default=3, help="repeats of the cross-validation")
    parser.add_argument(
        "--l2-grid",
        type=l2_grid,
        default=(1.0, 3.0, 10.0, 30.0, 100.0),
        help="penalties to choose from inside the folds; one value fixes it",
    )
    parser.add_argument(
        "--counts",
        choices=("events", "log", "raw"),
        default="events",
        help="which count features to take on a log scale (see count_columns)",
    )
    parser.add_argument("--max-false-alarms", type=float, default=0.18)
    parser.add_argument("--profile", default="default", choices=("default", "listings"))
    parser.add_argument("--cv-only", action="store_true", help="print held-out figures only")
    parser.add_argument(
        "--pack-point",
        metavar="DOMAIN",
        help="fit nothing: choose DOMAIN's operating point for the model in --out on the "
        "--probes folders (no more false alarms, no less recall than --reference gives)",
    )
    parser.add_argument("--probes", type=Path, action="append", default=[])
    parser.add_argument("--reference", type=Path, help="the model before the refit")
    args = parser.parse_args(argv)
    if args.pack_point:
        if not args.probes or args.reference is None:
            parser.error("--pack-point needs --probes and --reference")
        chosen = pack_point(args.pack_point, args.probes, args.reference, args.out)
        if chosen is None:
            print("no operating point keeps the probes' false alarms and recall")
            return 1
        point, before, after = chosen
        print(f"reference at the pack's point: {json.dumps(before)}")
        print(f"refit at {point}: {json.dumps(after)}")
        return 0

    from tether.grounding.verifier import VerifierConfig

    started = time.perf_counter()
    verifier = Verifier(VerifierConfig(profile=args.profile), aggregate=_NEUTRAL)
    dataset = load_dataset(args.data)
    tasks = {t: TaskData.checked(t, list(dataset[t]), verifier) for t in TASKS if t in dataset}
    ms = np.concatenate([d.ms for d in tasks.values()])
    timing = {
        "median_cpu_ms": round(float(np.median(ms)), 2),
        "p99_cpu_ms": round(float(np.percentile(ms, 99)), 2),
    }
    print(
        f"checked {len(ms)} responses in {time.perf_counter() - started:.1f} s; CPU per "
        f"response median {timing['median_cpu_ms']} ms, p99 {timing['p99_cpu_ms']} ms"
    )
    runs = [
        cross_validate(tasks, args.l2_grid, args.max_false_alarms, s, args.counts)
        for s in range(args.seeds)
    ]
    names = [*tasks, "overall"]
    held = summary([r for r, _ in runs], names)
    every = {t: np.ones(len(d.y), bool) for t, d in tasks.items()}
    flag_all = {t: scores(d.y, every[t]) for t, d in tasks.items()}
    flag_all["overall"] = scores(
        np.concatenate([d.y for d in tasks.values()]), np.concatenate(list(every.values()))
    )
    print(
        f"{'':<10}{'F1':>7}{'sd':>7}{'prec':>7}{'recall':>7}{'false al.':>10}"
        "  F1, false alarms per seed"
    )
    for name in names:
        h = held[name]
        print(
            f"{name:<10}{h['f1']:>7.3f}{h['f1_sd']:>7.3f}{h['precision']:>7.3f}"
            f"{h['recall']:>7.3f}{h['false_alarm_rate']:>10.3f}  {h['f1_per_seed']}, "
            f"{h['false_alarm_rate_per_seed']}"
        )
    fa = flag_all["overall"]
    print(f"{'flag_all':<10}{fa['f1']:>7.3f}{'':>7}{fa['precision']:>7.3f}{fa['recall']:>7.3f}")
    for seed, (_, chosen) in enumerate(runs):
        print(f"seed {seed}: penalty per outer fold {[list(c.values()) for c in chosen]}")
    if args.cv_only:
        return 0
    model = fit(tasks, args.l2_grid, args.max_false_alarms, args.seeds, args.counts)
    model = {
        "version": 1,
        "features": list(FEATURES),
        **model,
        "meta": {
            "data": "RAGTruth development half (ragtruth-dev)",
            "profile": args.profile,
            "l2_grid": list(args.l2_grid),
            "counts": args.counts,
            "max_false_alarms": args.max_false_alarms,
            "cross_validation": f"{args.seeds} x {FOLDS}-fold, grouped by source_id; penalty "
            "and operating points chosen on inner folds",
            "held_out": held,
            "flag_all": {k: round(v, 4) for k, v in flag_all["overall"].items()},
            "claim_checks": timing,
        },
    }
    args.out.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    points = {k: v["operating_point"] for k, v in model["kinds"].items()}
    penalties = {k: v["l2"] for k, v in model["kinds"].items()}
    print(
        f"penalties {penalties}, operating points {points}; wrote {args.out} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

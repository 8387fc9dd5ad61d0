"""Train the hallucination detector shipped in src/tether/grounding/detector_model.json.

    .venv/bin/python benchmarks/train_detector.py [--data ../shared/data/ragtruth-dev]

Fits one L2-regularised logistic model per RAGTruth task on the detector's features, picks a
single decision threshold that maximises the pooled (overall) F1 of out-of-fold scores, and
estimates held-out F1 by repeated 5-fold cross-validation grouped by source id: every
response about a source is in the same fold, so no fold is scored on a source it trained on.
The genre vocabulary and the threshold are chosen inside each training fold as well.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tether.grounding.assess import ClaimAssessment, assess_answer
from tether.grounding.detector import (
    FEATURES,
    TASKS,
    Task,
    features,
    index_source,
    template_vocabulary,
)
from tether.grounding.ragtruth import Example, load_dataset

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ragtruth-dev"
DEFAULT_OUT = ROOT / "src" / "tether" / "grounding" / "detector_model.json"
FOLDS = 5


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> dict[str, Any]:
    """Newton's method on standardised features; the bias is not penalised."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z.T * (p * (1 - p))) @ z + penalty + 1e-8 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return {"mean": mean, "scale": scale, "weights": w[:-1], "bias": float(w[-1])}


def predict(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    z = (x - model["mean"]) / model["scale"] @ model["weights"] + model["bias"]
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def f1(y: np.ndarray, flagged: np.ndarray) -> float:
    tp = int(np.sum(flagged & (y == 1)))
    wrong = int(np.sum(flagged & (y == 0))) + int(np.sum(~flagged & (y == 1)))
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    candidates = np.unique(np.round(p, 4))
    scores = [f1(y, p >= t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def folds_by_source(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    unique = np.array(sorted(set(groups.tolist())))
    np.random.RandomState(seed).shuffle(unique)
    fold_of = {g: i % k for i, g in enumerate(unique)}
    return np.array([fold_of[g] for g in groups])


class TaskData:
    """One task's examples, their claim assessments (computed once) and labels."""

    def __init__(self, task: Task, examples: list[Example]) -> None:
        self.task = task
        self.examples = examples
        self.indexes = [index_source(task, e.source) for e in examples]
        self.claims: list[list[ClaimAssessment]] = [
            assess_answer(e.response, ix) for e, ix in zip(examples, self.indexes, strict=True)
        ]
        self.y = np.array([int(e.hallucinated) for e in examples])
        self.groups = np.array([e.source_id for e in examples])

    def vocabulary(self, rows: np.ndarray, share: float) -> set[str]:
        return template_vocabulary(
            [(self.examples[i].source_id, self.claims[i]) for i in rows], share
        )

    def matrix(self, vocabulary: set[str]) -> np.ndarray:
        return np.array(
            [
                features(self.task, ix, e.response, c, vocabulary)
                for e, ix, c in zip(self.examples, self.indexes, self.claims, strict=True)
            ],
            dtype=float,
        )


def out_of_fold(
    data: TaskData, rows: np.ndarray, x: np.ndarray, l2: float, seed: int
) -> np.ndarray:
    """Out-of-fold probabilities for `rows`, by grouped inner folds."""
    inner = folds_by_source(data.groups[rows], FOLDS - 1, seed)
    p = np.zeros(len(rows))
    for f in range(FOLDS - 1):
        train, test = rows[inner != f], rows[inner == f]
        p[inner == f] = predict(fit_logistic(x[train], data.y[train], l2), x[test])
    return p


def cross_validate(
    tasks: dict[Task, TaskData], l2: float, share: float, seed: int
) -> dict[str, float]:
    """Held-out F1 per task and pooled, for one assignment of sources to folds."""
    flagged: dict[Task, np.ndarray] = {t: np.zeros(len(d.y), bool) for t, d in tasks.items()}
    folds = {t: folds_by_source(d.groups, FOLDS, seed) for t, d in tasks.items()}
    for f in range(FOLDS):
        scored: dict[Task, tuple[np.ndarray, np.ndarray]] = {}
        inner_y, inner_p = [], []
        for task, data in tasks.items():
            train = np.flatnonzero(folds[task] != f)
            test = np.flatnonzero(folds[task] == f)
            x = data.matrix(data.vocabulary(train, share))
            scored[task] = (test, predict(fit_logistic(x[train], data.y[train], l2), x[test]))
            inner_y.append(data.y[train])
            inner_p.append(out_of_fold(data, train, x, l2, seed + 1))
        threshold = best_threshold(np.concatenate(inner_y), np.concatenate(inner_p))
        for task, (test, p) in scored.items():
            flagged[task][test] = p >= threshold
    result: dict[str, float] = {task: f1(tasks[task].y, flagged[task]) for task in tasks}
    y = np.concatenate([tasks[t].y for t in tasks])
    every = np.concatenate([flagged[t] for t in tasks])
    result["overall"] = f1(y, every)
    # faithful responses flagged, to set beside the verifier's figure of the same name
    result["false_alarm_rate"] = float(np.sum(every & (y == 0)) / max(np.sum(y == 0), 1))
    return result


def train(tasks: dict[Task, TaskData], l2: float, share: float, seeds: int) -> dict[str, Any]:
    """The final models on all data, with a threshold from out-of-fold scores."""
    models: dict[str, Any] = {}
    pooled_y, pooled_p = [], []
    for task, data in tasks.items():
        every = np.arange(len(data.y))
        vocabulary = data.vocabulary(every, share)
        x = data.matrix(vocabulary)
        model = fit_logistic(x, data.y, l2)
        models[task] = {
            "mean": [round(float(v), 8) for v in model["mean"]],
            "scale": [round(float(v), 8) for v in model["scale"]],
            "weights": [round(float(v), 8) for v in model["weights"]],
            "bias": round(model["bias"], 8),
            "vocabulary": sorted(vocabulary),
        }
        for seed in range(seeds):
            folds = folds_by_source(data.groups, FOLDS, seed)
            p = np.zeros(len(data.y))
            for f in range(FOLDS):
                p[folds == f] = predict(
                    fit_logistic(x[folds != f], data.y[folds != f], l2), x[folds == f]
                )
            pooled_y.append(data.y)
            pooled_p.append(p)
    threshold = best_threshold(np.concatenate(pooled_y), np.concatenate(pooled_p))
    return {"tasks": models, "threshold": round(threshold, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seeds", type=int, default=5, help="repeats of the cross-validation")
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--share", type=float, default=0.1, help="genre-vocabulary share")
    parser.add_argument("--cv-only", action="store_true", help="estimate F1; write nothing")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    dataset = load_dataset(args.data)
    tasks = {t: TaskData(t, dataset[t]) for t in TASKS if t in dataset}
    runs = [cross_validate(tasks, args.l2, args.share, seed) for seed in range(args.seeds)]
    print(f"{'':<10}{'held-out F1':>12}{'± sd':>8}{'n':>6}")
    cv: dict[str, dict[str, float]] = {}
    for name in [*tasks, "overall"]:
        values = np.array([r[name] for r in runs])
        sizes: dict[str, int] = {t: len(d.y) for t, d in tasks.items()}
        n = sizes.get(name, sum(sizes.values()))
        cv[name] = {"f1": round(float(values.mean()), 4), "sd": round(float(values.std()), 4)}
        print(f"{name:<10}{values.mean():>12.3f}{values.std():>8.3f}{n:>6}")
    alarms = np.array([r["false_alarm_rate"] for r in runs])
    print(f"{'false alarms on faithful responses':<36}{alarms.mean():.3f}")
    if args.cv_only:
        return 0
    model = train(tasks, args.l2, args.share, args.seeds)
    model = {
        "version": 1,
        "features": list(FEATURES),
        **model,
        "training": {
            "data": "RAGTruth development half (ragtruth-dev)",
            "l2": args.l2,
            "vocabulary_share": args.share,
            "cross_validation": f"{args.seeds} x {FOLDS}-fold, grouped by source_id",
            "held_out_f1": cv,
        },
    }
    args.out.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"threshold {model['threshold']}; wrote {args.out} in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

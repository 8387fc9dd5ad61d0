"""The grounding evaluation harness: RAGTruth-format JSONL in, detection scores out.

A folder holds up to three files, ``qa.jsonl``, ``summary.jsonl`` and ``data2txt.jsonl``; each
line is one source with its responses, and a response is hallucinated iff its ``labels`` list
is non-empty. Malformed data stops the run with DATA_INVALID naming the file and line.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.detector import TASKS, Task

TASK_FILES: dict[Task, str] = {task: f"{task}.jsonl" for task in TASKS}


@dataclass(frozen=True)
class Example:
    """One response to score: its task, its source, and whether annotators found a hallucination."""

    task: Task
    source_id: str
    source: Any
    response: str
    hallucinated: bool
    model: str = ""
    tool: str = ""  # the tool whose output a data-to-text record is, when the line says


def _bad(where: str, problem: str) -> TetherError:
    return TetherError(ErrorCode.DATA_INVALID, f"{where}: {problem}", {"where": where})


def _check_source(task: Task, source: Any, where: str) -> None:
    if task == "qa":
        if not isinstance(source, Mapping):
            raise _bad(where, "a qa 'source' must be an object with 'question' and 'passages'")
        for key in ("question", "passages"):
            if not isinstance(source.get(key), str):
                raise _bad(where, f"a qa 'source' needs a string '{key}'")
    elif task == "summary":
        if not isinstance(source, str):
            raise _bad(where, "a summary 'source' must be a string (the article)")
    elif not isinstance(source, Mapping):
        raise _bad(where, "a data2txt 'source' must be a JSON object (the record)")


def parse_line(task: Task, line: str, where: str) -> list[Example]:
    """The examples of one JSONL line; DATA_INVALID names `where` (file:line) and the problem."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise _bad(where, "each line must be a JSON object")
    missing = [k for k in ("source_id", "source", "responses") if k not in record]
    if missing:
        raise _bad(where, f"missing key(s): {', '.join(missing)}")
    source_id = record["source_id"]
    if isinstance(source_id, bool) or not isinstance(source_id, str | int):
        raise _bad(where, "'source_id' must be a string or an integer")
    _check_source(task, record["source"], where)
    tool = record.get("tool", "")
    if not isinstance(tool, str):
        raise _bad(where, "'tool' must be a string (the tool whose output the record is)")
    responses = record["responses"]
    if not isinstance(responses, list):
        raise _bad(where, "'responses' must be a list")
    examples: list[Example] = []
    for position, item in enumerate(responses, start=1):
        at = f"{where}: response {position}"
        if not isinstance(item, dict):
            raise _bad(at, "each response must be an object")
        if not isinstance(item.get("response"), str):
            raise _bad(at, "'response' must be a string")
        labels = item.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, dict) for x in labels):
            raise _bad(at, "'labels' must be a list of objects")
        model = item.get("model", "")
        examples.append(
            Example(
                task,
                str(source_id),
                record["source"],
                item["response"],
                bool(labels),
                model if isinstance(model, str) else "",
                tool,
            )
        )
    return examples


def load_task(path: Path, task: Task) -> list[Example]:
    """Every example of one task file; blank lines are skipped."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _bad(str(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise _bad(str(path), "not valid UTF-8") from None
    examples: list[Example] = []
    lines = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            lines += 1
            examples.extend(parse_line(task, line, f"{path.name}:{number}"))
    if not lines:
        raise _bad(str(path), "the file holds no records")
    return examples


def sample(examples: Sequence[Example], limit: int | None) -> list[Example]:
    """At most `limit` examples, evenly spaced through the file (the same ones every time)."""
    if limit is None or limit >= len(examples):
        return list(examples)
    if limit <= 0:
        return []
    step = len(examples) / limit
    return [examples[int(i * step)] for i in range(limit)]


def load_dataset(folder: str | Path, limit: int | None = None) -> dict[Task, list[Example]]:
    """The task files found in `folder`, each cut to `limit` examples when given."""
    root = Path(folder)
    if not root.is_dir():
        raise _bad(str(root), "no such directory")
    found = {task: root / name for task, name in TASK_FILES.items() if (root / name).is_file()}
    if not found:
        names = ", ".join(TASK_FILES.values())
        raise _bad(str(root), f"no task file found (expected one of {names})")
    return {task: sample(load_task(path, task), limit) for task, path in found.items()}


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of the hallucinated class, over `n` responses; the rest of the
    `n` are true negatives (faithful responses left alone)."""

    tp: int
    fp: int
    fn: int
    n: int

    @property
    def tn(self) -> int:
        return self.n - self.tp - self.fp - self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        both = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / both if both else 0.0

    @property
    def false_alarm_rate(self) -> float | None:
        """Faithful responses flagged / faithful responses; None when there are none."""
        faithful = self.fp + self.tn
        return self.fp / faithful if faithful else None

    def defined(self) -> dict[str, float | None]:
        """Each rate, or None where it has nothing to divide by: with no response flagged
        there is no precision, with no hallucination to find no recall, with neither no F1
        (0.0 would read as wrong every time)."""
        return {
            "precision": self.precision if self.tp + self.fp else None,
            "recall": self.recall if self.tp + self.fn else None,
            "f1": self.f1 if 2 * self.tp + self.fp + self.fn else None,
            "false_alarm_rate": self.false_alarm_rate,
        }

    def to_dict(self) -> dict[str, float | int | None]:
        rates = {k: None if v is None else round(v, 4) for k, v in self.defined().items()}
        return {
            "precision": rates["precision"],
            "recall": rates["recall"],
            "f1": rates["f1"],
            "n": self.n,
            "false_alarm_rate": rates["false_alarm_rate"],
        }


def score(pairs: Sequence[tuple[bool, bool]]) -> Scores:
    """Scores from (truth, prediction) pairs."""
    tp = sum(1 for truth, flagged in pairs if truth and flagged)
    fp = sum(1 for truth, flagged in pairs if flagged and not truth)
    fn = sum(1 for truth, flagged in pairs if truth and not flagged)
    return Scores(tp, fp, fn, len(pairs))


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `percent` % of the values
    at or below it (always one of the values, never interpolated); 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def flag_all(example: Example) -> bool:
    """The trivial baseline: every response is flagged (full recall, precision = base rate)."""
    return True


@dataclass(frozen=True)
class EvalReport:
    """Per-task and overall scores, the median and p99 time spent per response, and, when the
    run was given any, the same figures for each baseline over the same examples."""

    tasks: Mapping[str, Scores]
    overall: Scores
    median_ms_per_response: float
    p99_ms_per_response: float
    baselines: Mapping[str, EvalReport] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The harness's JSON: tasks, overall, median_ms_per_response, p99_ms_per_response,
        and `baselines` (name -> the same keys) only when baselines were run."""
        out: dict[str, Any] = {
            "tasks": {task: s.to_dict() for task, s in self.tasks.items()},
            "overall": self.overall.to_dict(),
            "median_ms_per_response": round(self.median_ms_per_response, 3),
            "p99_ms_per_response": round(self.p99_ms_per_response, 3),
        }
        if self.baselines is not None:
            out["baselines"] = {name: r.to_dict() for name, r in self.baselines.items()}
        return out


class _Tally:
    """The (truth, prediction) pairs per task and the timings of one predictor."""

    def __init__(self, predict: Callable[[Example], bool]) -> None:
        self.predict = predict
        self.pairs: dict[str, list[tuple[bool, bool]]] = {}
        self.timings: list[float] = []

    def run(self, example: Example, clock: Callable[[], float]) -> None:
        started = clock()
        flagged = self.predict(example)
        self.timings.append((clock() - started) * 1000.0)
        self.pairs.setdefault(example.task, []).append((example.hallucinated, flagged))

    def report(self, baselines: Mapping[str, EvalReport] | None = None) -> EvalReport:
        per_task = {task: score(pairs) for task, pairs in self.pairs.items()}
        every = [pair for pairs in self.pairs.values() for pair in pairs]
        median = statistics.median(self.timings) if self.timings else 0.0
        return EvalReport(
            per_task, score(every), median, nearest_rank(self.timings, 99.0), baselines
        )


def evaluate(
    dataset: Mapping[Task, Sequence[Example]],
    predict: Callable[[Example], bool],
    clock: Callable[[], float] = time.perf_counter,
    baselines: Mapping[str, Callable[[Example], bool]] | None = None,
) -> EvalReport:
    """Run `predict` on every example, timing each call, and score it against the labels.

    Each baseline (e.g. `{"flag_all": flag_all, "previous_detector": ...}`) runs on the same
    examples right after `predict` on each one, so drift in the machine's load touches all
    alike; each is scored and timed on its own. p99 is the nearest-rank percentile.
    """
    main = _Tally(predict)
    others = {name: _Tally(fn) for name, fn in (baselines or {}).items()}
    for task in TASKS:
        if task not in dataset:
            continue
        main.pairs.setdefault(task, [])
        for other in others.values():
            other.pairs.setdefault(task, [])
        for example in dataset[task]:
            main.run(example, clock)
            for other in others.values():
                other.run(example, clock)
    extra = {name: t.report() for name, t in others.items()} if baselines is not None else None
    return main.report(extra)

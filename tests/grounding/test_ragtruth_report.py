"""The evaluation report: false alarms on faithful responses, tail latency, and baselines scored
in the same run over the same examples."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tether.grounding.detector import Task
from tether.grounding.ragtruth import Example, evaluate, flag_all, score

QA = {"question": "how long do refunds take", "passages": "passage 1:Refunds take 5 days."}


def example(task: Task, response: str, hallucinated: bool) -> Example:
    source = QA if task == "qa" else "An article." if task == "summary" else {"name": "x"}
    return Example(task, response, source, response, hallucinated)


# qa: 2 caught, 1 false alarm, 1 missed, 3 left alone -> tp 2, fp 1, fn 1, tn 3
QA_CASES = [
    ("caught-1", True, True),
    ("caught-2", True, True),
    ("false-alarm", False, True),
    ("missed", True, False),
    ("faithful-1", False, False),
    ("faithful-2", False, False),
    ("faithful-3", False, False),
]
# summary: every response hallucinated, so no faithful one to raise a false alarm on
SUMMARY_CASES = [("s-caught", True, True), ("s-missed", True, False)]


def dataset() -> dict[Task, list[Example]]:
    return {
        "qa": [example("qa", r, truth) for r, truth, _ in QA_CASES],
        "summary": [example("summary", r, truth) for r, truth, _ in SUMMARY_CASES],
    }


FLAGS = {r: flagged for r, _, flagged in [*QA_CASES, *SUMMARY_CASES]}


class FakeClock:
    """Time moves only when a predictor says it worked, so timings are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def timed(
        self, ms: Callable[[Example], float], flag: Callable[[Example], bool]
    ) -> Callable[[Example], bool]:
        def predict(e: Example) -> bool:
            self.now += ms(e) / 1000.0
            return flag(e)

        return predict


def test_true_negatives_and_false_alarms_are_counted() -> None:
    s = score([(False, True), (False, False), (False, False), (True, True)])
    assert (s.tp, s.fp, s.fn, s.tn, s.n) == (1, 1, 0, 2, 4)
    assert s.false_alarm_rate == pytest.approx(1 / 3)
    assert score([(True, True), (True, False)]).false_alarm_rate is None


def test_exact_figures_per_task_and_overall() -> None:
    report = evaluate(dataset(), lambda e: FLAGS[e.response], clock=FakeClock())
    data = report.to_dict()
    assert data["tasks"]["qa"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "n": 7,
        "false_alarm_rate": 0.25,  # 1 of 4 faithful responses flagged
    }
    assert data["tasks"]["summary"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "n": 2,
        "false_alarm_rate": None,  # no faithful response at all
    }
    # overall: tp 3, fp 1, fn 2, tn 3
    assert data["overall"] == {
        "precision": 0.75,
        "recall": 0.6,
        "f1": 0.6667,
        "n": 9,
        "false_alarm_rate": 0.25,
    }
    assert "baselines" not in data
    assert set(data) == {"tasks", "overall", "median_ms_per_response", "p99_ms_per_response"}


def test_p99_is_the_nearest_rank_of_the_timings() -> None:
    clock = FakeClock()
    examples = [example("qa", f"r{i}", i % 2 == 0) for i in range(1, 101)]
    # response r<i> takes i ms: nearest rank of p99 over 100 timings is the 99th smallest
    predict = clock.timed(lambda e: float(e.response[1:]), lambda e: False)
    report = evaluate({"qa": examples}, predict, clock=clock)
    assert report.p99_ms_per_response == pytest.approx(99.0)
    assert report.median_ms_per_response == pytest.approx(50.5)
    data = report.to_dict()
    assert data["p99_ms_per_response"] == 99.0
    assert data["median_ms_per_response"] == 50.5
    # with fewer than 100 timings the nearest rank is the slowest one
    few = evaluate({"qa": examples[:10]}, predict, clock=clock)
    assert few.p99_ms_per_response == pytest.approx(10.0)


def test_no_examples_give_zero_timings() -> None:
    report = evaluate({"qa": []}, lambda e: True, clock=FakeClock())
    assert (report.median_ms_per_response, report.p99_ms_per_response) == (0.0, 0.0)
    assert report.overall.false_alarm_rate is None


def test_baselines_are_scored_and_timed_on_the_same_examples() -> None:
    clock = FakeClock()
    seen: dict[str, list[str]] = {"main": [], "previous": []}

    def main(e: Example) -> bool:
        seen["main"].append(e.response)
        clock.now += 0.002
        return FLAGS[e.response]

    def previous(e: Example) -> bool:
        seen["previous"].append(e.response)
        clock.now += 0.010
        return e.response.startswith(("missed", "faithful-1", "s-missed"))

    report = evaluate(
        dataset(),
        main,
        clock=clock,
        baselines={"flag_all": flag_all, "previous_detector": previous},
    )
    assert seen["main"] == seen["previous"]
    assert len(seen["main"]) == 9
    data = report.to_dict()
    assert set(data["baselines"]) == {"flag_all", "previous_detector"}
    everything = data["baselines"]["flag_all"]
    assert everything["overall"] == {
        "precision": 0.5556,  # 5 hallucinated of 9
        "recall": 1.0,
        "f1": 0.7143,
        "n": 9,
        "false_alarm_rate": 1.0,
    }
    assert everything["tasks"]["summary"]["false_alarm_rate"] is None
    prev = data["baselines"]["previous_detector"]
    # qa: flags "missed" (tp) and "faithful-1" (fp); summary: flags "s-missed" (tp)
    assert prev["tasks"]["qa"] == {
        "precision": 0.5,
        "recall": 0.3333,
        "f1": 0.4,
        "n": 7,
        "false_alarm_rate": 0.25,
    }
    assert prev["overall"]["recall"] == 0.4
    # each is timed on its own: the main predictor's figures are not the baselines'
    assert data["median_ms_per_response"] == pytest.approx(2.0)
    assert prev["median_ms_per_response"] == pytest.approx(10.0)
    assert prev["p99_ms_per_response"] == pytest.approx(10.0)
    assert everything["median_ms_per_response"] == 0.0
    assert "baselines" not in prev
    # the main figures are unchanged by the baselines beside them
    alone = evaluate(dataset(), lambda e: FLAGS[e.response], clock=FakeClock()).to_dict()
    assert {k: data[k] for k in ("tasks", "overall")} == {k: alone[k] for k in ("tasks", "overall")}

"""The grounding evaluation harness: RAGTruth JSONL in, scores out; bad data named by file and line.

The command runs as a user runs it (a real subprocess); the data is the development half laid
beside the repository (../shared/data/ragtruth-dev), scored on a small evenly spaced sample.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.detector import HallucinationDetector
from tether.grounding.ragtruth import Example, evaluate, flag_all, load_dataset, sample, score
from tether.grounding.verifier import Verifier, VerifierConfig

TETHER = str(Path(sys.executable).parent / "tether")
DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ragtruth-dev"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def dev_data() -> Path:
    if not (DEV / "qa.jsonl").is_file():
        message = f"the RAGTruth development half is not at {DEV}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return DEV


def tether(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OPENAI_"))}
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def line(source: Any, *responses: tuple[str, list[dict[str, Any]]], sid: Any = "s1") -> str:
    items = [{"response": r, "model": "m", "labels": labels} for r, labels in responses]
    return json.dumps({"source_id": sid, "source": source, "responses": items})


QA = {"question": "how long do refunds take", "passages": "passage 1:Refunds take 5 days."}
LABEL = {"start": 0, "end": 5, "text": "x", "label_type": "Evident Conflict"}


def write(folder: Path, name: str, *lines: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_the_command_prints_exactly_the_documented_json() -> None:
    proc = tether("eval", "grounding", "--data", str(dev_data()), "--json", "--limit", "12")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    keys = {"tasks", "overall", "median_ms_per_response", "p99_ms_per_response"}
    assert set(report) == keys | {"baselines"}
    assert set(report["baselines"]) == {"flag_all", "previous_detector"}
    for r in [report, *report["baselines"].values()]:
        assert set(r) >= keys
        assert set(r["tasks"]) == {"qa", "summary", "data2txt"}
        for scores in [*r["tasks"].values(), r["overall"]]:
            assert set(scores) == {"precision", "recall", "f1", "n", "false_alarm_rate"}
            assert all(0.0 <= scores[k] <= 1.0 for k in ("precision", "recall", "f1"))
        assert [s["n"] for s in r["tasks"].values()] == [12, 12, 12]
        assert r["overall"]["n"] == 36
        assert 0 <= r["median_ms_per_response"] <= r["p99_ms_per_response"]
    # the verifier takes measurable time; flag_all does no work and may round to 0.000 ms
    assert report["median_ms_per_response"] > 0
    flag_all = report["baselines"]["flag_all"]["overall"]
    assert (flag_all["recall"], flag_all["false_alarm_rate"]) == (1.0, 1.0)


def test_the_packaged_detector_separates_the_sample() -> None:
    dataset = load_dataset(dev_data(), limit=60)
    detector = HallucinationDetector.packaged()
    report = evaluate(dataset, lambda e: detector.detect(e.task, e.source, e.response).flagged)
    flag_all = evaluate(dataset, lambda e: True)
    print(json.dumps(report.to_dict()))
    # the development half is the training data, so this guards the shipped model, not quality
    assert report.overall.f1 > flag_all.overall.f1 + 0.1
    assert report.tasks["data2txt"].f1 > 0.75


FAITHFUL = (
    "Harbor Grill has a 4-star rating. It is open Monday and Tuesday from 11 AM to 9 PM. "
    "It has no outdoor seating and no WiFi. A reviewer praised the fresh fish tacos."
)
INVENTED = (
    "Harbor Grill is open seven days a week until midnight, with live music, free WiFi "
    "and a romantic patio for outdoor seating. Reviewers love the lobster risotto."
)


def test_a_contradicting_description_scores_above_a_faithful_one() -> None:
    record = {
        "name": "Harbor Grill",
        "hours": {"Monday": "11:0-21:0", "Tuesday": "11:0-21:0"},
        "attributes": {"OutdoorSeating": False, "WiFi": "no", "Music": None},
        "business_stars": 4.0,
        "review_info": [{"review_stars": 4.0, "review_text": "Fresh fish tacos, kind staff."}],
    }
    detector = HallucinationDetector.packaged()
    faithful = detector.detect(
        "data2txt",
        record,
        FAITHFUL,
    )
    invented = detector.detect(
        "data2txt",
        record,
        INVENTED,
    )
    assert invented.score > faithful.score
    assert invented.flagged
    assert any(c.contradicted for c in invented.claims)
    verifier = Verifier(VerifierConfig(profile="listings"))
    faithful_v = verifier.verify_source("data2txt", record, FAITHFUL)
    invented_v = verifier.verify_source("data2txt", record, INVENTED)
    assert not faithful_v.flagged
    assert invented_v.flagged
    assert invented_v.contradicted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (line(QA, ("ok", [])) + "\n{not json", "qa.jsonl:2: not valid JSON"),
        (json.dumps({"source_id": "s", "source": QA}), "qa.jsonl:1: missing key(s): responses"),
        (line({"question": "q"}, ("ok", [])), "needs a string 'passages'"),
        (line(QA, ("ok", "none")), "qa.jsonl:1: response 1: 'labels' must be a list"),
        (line(QA, (7, [])), "'response' must be a string"),
        (json.dumps([1, 2]), "each line must be a JSON object"),
        (line(QA, ("ok", []), sid=True), "'source_id' must be a string or an integer"),
    ],
)
def test_malformed_lines_are_named_by_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    write(tmp_path, "qa.jsonl", content)
    with pytest.raises(TetherError) as caught:
        load_dataset(tmp_path)
    assert caught.value.code is ErrorCode.DATA_INVALID
    assert message in caught.value.message


def test_missing_folders_files_and_bad_encodings_are_clear(tmp_path: Path) -> None:
    for folder, message in ((tmp_path / "absent", "no such directory"), (tmp_path, "no task file")):
        with pytest.raises(TetherError) as caught:
            load_dataset(folder)
        assert caught.value.code is ErrorCode.DATA_INVALID
        assert message in caught.value.message
    (tmp_path / "summary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TetherError) as caught:
        load_dataset(tmp_path)
    assert "not valid UTF-8" in caught.value.message
    (tmp_path / "summary.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(TetherError) as caught:
        load_dataset(tmp_path)
    assert "holds no records" in caught.value.message


def test_the_command_reports_bad_data_with_a_code_and_exit_status(tmp_path: Path) -> None:
    write(tmp_path, "data2txt.jsonl", line({"name": "x"}, ("ok", [])), '{"source_id": 1')
    proc = tether("eval", "grounding", "--data", str(tmp_path), "--json")
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "DATA_INVALID"
    assert "data2txt.jsonl:2" in error["message"]
    assert "Traceback" not in proc.stderr
    judged = tether("eval", "grounding", "--data", str(tmp_path), "--judge", "gpt-4")
    assert judged.returncode == 2
    assert "error DATA_INVALID" in judged.stderr  # the data is read before any judge is built


def test_an_unknown_judge_scheme_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "qa.jsonl", line(QA, ("Refunds take 5 days.", [])))
    proc = tether("eval", "grounding", "--data", str(tmp_path), "--judge", "nli:local", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "CONFIG_INVALID"


def test_a_sample_is_evenly_spaced_and_the_same_every_time(tmp_path: Path) -> None:
    rows = [line(QA, (f"answer {i}", [LABEL] if i % 2 else []), sid=i) for i in range(10)]
    write(tmp_path, "qa.jsonl", *rows)
    first = load_dataset(tmp_path, limit=4)["qa"]
    assert [e.response for e in first] == ["answer 0", "answer 2", "answer 5", "answer 7"]
    assert first == load_dataset(tmp_path, limit=4)["qa"]
    examples = load_dataset(tmp_path)["qa"]
    assert [e.hallucinated for e in examples[:3]] == [False, True, False]
    assert sample(examples, 100) == examples


def test_scores_count_the_hallucinated_class() -> None:
    s = score([(True, True), (True, False), (False, True), (False, False), (True, True)])
    assert (s.tp, s.fp, s.fn, s.n) == (2, 1, 1, 5)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    nothing = score([(False, False)])
    assert (nothing.precision, nothing.recall, nothing.f1) == (0.0, 0.0, 0.0)


def test_flagging_everything_has_full_recall_and_the_base_rate_as_precision() -> None:
    examples = [
        Example("qa", str(i), QA, "text", hallucinated=i < 3) for i in range(10)
    ]  # fmt: skip
    ticks = iter(range(100))
    report = evaluate({"qa": examples}, lambda e: True, clock=lambda: float(next(ticks)))
    data = report.to_dict()
    assert data["tasks"]["qa"] == {
        "precision": 0.3,
        "recall": 1.0,
        "f1": 0.4615,
        "n": 10,
        "false_alarm_rate": 1.0,
    }
    assert data["overall"]["n"] == 10
    assert data["median_ms_per_response"] == 1000.0  # one clock tick per call
    assert data["p99_ms_per_response"] == 1000.0
    assert "baselines" not in data


def test_baselines_run_on_the_same_examples_and_are_scored_on_their_own() -> None:
    examples = [Example("qa", str(i), QA, "text", hallucinated=i < 3) for i in range(10)]
    report = evaluate({"qa": examples}, lambda e: e.hallucinated, baselines={"flag_all": flag_all})
    data = report.to_dict()
    assert data["overall"]["f1"] == 1.0
    assert data["overall"]["false_alarm_rate"] == 0.0
    baseline = data["baselines"]["flag_all"]["overall"]
    assert (baseline["precision"], baseline["false_alarm_rate"], baseline["n"]) == (0.3, 1.0, 10)
    nothing_faithful = score([(True, True)]).to_dict()
    assert nothing_faithful["false_alarm_rate"] is None

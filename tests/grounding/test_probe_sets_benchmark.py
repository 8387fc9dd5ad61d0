"""`benchmarks/probe_sets.py`: every probe set in one table, each scored exactly as
`tether eval grounding --data SET --domain retail` scores it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from tether.cli.app import app
from tether.grounding.ragtruth import load_dataset

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def probe_sets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tether_probe_sets", BENCHMARKS / "probe_sets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sets_are_found_in_their_natural_order(probe_sets: ModuleType) -> None:
    root = probe_sets.probe_root("retail")
    found = sorted((p.name for p in root.iterdir() if p.is_dir()), key=probe_sets.natural)
    assert found[:3] == ["dev", "dev2", "dev3"]
    assert found[-1] == "heldout"
    assert found.index("dev10") > found.index("dev9")  # not "dev10" < "dev2"


def test_a_set_scores_as_the_cli_scores_it(probe_sets: ModuleType) -> None:
    (figures,) = probe_sets.score_sets("retail", ["dev3"]).values()
    root = probe_sets.probe_root("retail")
    result = CliRunner().invoke(
        app, ["eval", "grounding", "--data", str(root / "dev3"), "--domain", "retail", "--json"]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    for key in ("f1", "precision", "recall", "false_alarm_rate", "n"):
        assert figures[key] == cli["overall"][key]
        for task, scores in cli["tasks"].items():
            assert figures["tasks"][task][key] == scores[key]


def test_an_unknown_set_is_refused_by_name(probe_sets: ModuleType) -> None:
    with pytest.raises(SystemExit, match="no probe set named nosuch"):
        probe_sets.score_sets("retail", ["nosuch"])


def test_compare_shows_what_moved(probe_sets: ModuleType) -> None:
    now = {"dev": {"f1": 0.9, "precision": 1.0, "recall": 0.8, "false_alarm_rate": 0.0, "n": 9}}
    before = {"dev": {**now["dev"], "f1": 0.8}}
    line = probe_sets.table(now, before).splitlines()[1]
    assert "0.800->0.900" in line and "1.000" in line and "->1.000" not in line


def test_errors_lists_each_miss_and_false_alarm_once(probe_sets: ModuleType) -> None:
    assert probe_sets.errors("retail", "dev3") == []  # a set scored 1.0 has none
    (figures,) = probe_sets.score_sets("retail", ["dev12"]).values()
    examples = [
        e for task in load_dataset(probe_sets.probe_root("retail") / "dev12").values() for e in task
    ]
    wrong = sum(e.hallucinated for e in examples)
    missed = round(wrong * (1 - figures["recall"]))
    alarms = round((len(examples) - wrong) * figures["false_alarm_rate"])
    heads = [line for line in probe_sets.errors("retail", "dev12") if line.startswith("[")]
    assert sum(" miss: " in h for h in heads) == missed
    assert sum(" false alarm: " in h for h in heads) == alarms
    assert missed + alarms == len(heads) > 0


def test_errors_never_reads_the_held_out_half(probe_sets: ModuleType) -> None:
    with pytest.raises(SystemExit, match="never read"):
        probe_sets.errors("retail", "heldout")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read a saved table"),
        ("{bad", "cannot read a saved table"),
        ("[1]", "not a table this script saved"),
        ('{"dev": {"f1": "high"}}', "not a table this script saved"),
    ],
)
def test_a_bad_saved_table_is_refused_by_name_before_any_scoring(
    probe_sets: ModuleType, tmp_path: Path, content: str | None, said: str
) -> None:
    saved = tmp_path / "before.json"
    if content is not None:
        saved.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit, match=said):
        probe_sets.main(["--compare", str(saved)])


def test_an_unknown_domain_is_a_message_not_a_traceback(probe_sets: ModuleType) -> None:
    with pytest.raises(SystemExit, match="DOMAIN_NOT_FOUND"):
        probe_sets.main(["--domain", "nosuch", "--sets", "dev"])

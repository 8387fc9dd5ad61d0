"""How the verifier's answer-level rule is fitted (`benchmarks/train_verifier.py`) and read back
(`verifier_model.json`): the penalty is chosen without the fold it is scored on, the runtime
scores exactly as the fit did (counts on a log scale included), a model file naming features it
does not have is refused, and a pack's operating point is never chosen on held-out probes."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.aggregate import FEATURES, Aggregate, Logistic, packaged, unverified

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
GRID = (0.1, 1.0, 10.0, 1000.0)


@pytest.fixture(scope="module")
def trainer() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        return importlib.import_module("train_verifier")


def synthetic(trainer: ModuleType, signal: float, seed: int = 0, sources: int = 40) -> Any:
    """Six responses per source: counts and shares like the verifier's, labels that follow
    two of the counts with strength `signal` (0: pure noise)."""
    rng = np.random.RandomState(seed)
    n = sources * 6
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, :10] = rng.poisson(2.0, size=(n, 10))  # counts
    z = signal * (np.log1p(x[:, 0]) - np.log1p(x[:, 1])) + rng.normal(scale=0.3, size=n)
    y = (z > np.median(z)).astype(int) if signal else rng.randint(0, 2, n)
    groups = np.repeat([f"source-{i}" for i in range(sources)], 6)
    return trainer.TaskData("qa", x, x[:, 2] > 4, y, groups, np.ones(n))


def test_the_penalty_follows_the_data_it_is_given(trainer: ModuleType) -> None:
    rows = np.arange(240)
    strong, _ = trainer.choose_l2(synthetic(trainer, 3.0), rows, GRID, range(2), "log")
    noise, _ = trainer.choose_l2(synthetic(trainer, 0.0), rows, GRID, range(2), "log")
    # a clear signal wants little smoothing; labels that are noise want the most
    assert strong < 1000.0 and noise == 1000.0


def test_the_penalty_is_chosen_without_the_scored_fold(trainer: ModuleType) -> None:
    data = synthetic(trainer, 3.0)
    tasks = {"qa": data}
    _, chosen = trainer.cross_validate(tasks, GRID, 0.2, 0, "log")
    folds = trainer.folds_by_source(data.groups, trainer.FOLDS, 0)
    scored = folds == 0
    # the fold scored first is replaced by noise: labels flipped, features scrambled
    forged = trainer.TaskData(
        "qa",
        np.where(scored[:, None], np.random.RandomState(9).poisson(7.0, data.x.shape), data.x),
        data.hard,
        np.where(scored, 1 - data.y, data.y),
        data.groups,
        data.ms,
    )
    _, again = trainer.cross_validate({"qa": forged}, GRID, 0.2, 0, "log")
    assert again[0] == chosen[0]
    # …while the folds that train on those rows see the change
    train = np.flatnonzero(folds != 1)
    assert not np.allclose(
        trainer.choose_l2(data, train, GRID, range(1, 2), "log")[1],
        trainer.choose_l2(forged, train, GRID, range(1, 2), "log")[1],
    )


def test_counts_of_things_found_are_told_from_the_answers_size(trainer: ModuleType) -> None:
    x = np.array([[3, 0, 0.5, 0], [5, 0, 0.25, 2], [9, 1, 0.75, 0], [4, 0, 0.5, 0]], float)
    assert trainer.count_columns(x, "log").tolist() == [0, 1, 3]
    assert trainer.count_columns(x, "events").tolist() == [1, 3]  # mostly zero
    assert trainer.count_columns(x, "raw").tolist() == []


@pytest.mark.parametrize("counts", ["events", "log"])
def test_the_runtime_scores_as_the_fit_did(trainer: ModuleType, counts: str) -> None:
    data = synthetic(trainer, 3.0)
    data.x[:, 3:10] *= np.random.RandomState(1).rand(240, 7) < 0.3  # found rarely
    model = trainer.fit({"qa": data}, GRID, 0.2, 2, counts)
    kind = model["kinds"]["qa"]
    logged = list(FEATURES[:10]) if counts == "log" else list(FEATURES[3:10])
    assert kind["l2"] in GRID and kind["log1p"] == logged
    aggregate = Aggregate.from_dict({"features": list(FEATURES), **model})
    fitted = trainer.fit_model(data.x, data.y, kind["l2"], counts)
    expected = trainer.score(fitted, data.x)
    got = np.array([aggregate.score("qa", row) for row in data.x.tolist()])
    assert np.allclose(got, expected, atol=1e-5)
    # the same weights read without the log scale would score otherwise
    raw = Aggregate.from_dict(
        {"features": list(FEATURES), **model, "kinds": {"qa": {**kind, "log1p": []}}}
    )
    assert not np.allclose([raw.score("qa", row) for row in data.x.tolist()], expected, atol=1e-3)


@pytest.mark.parametrize(
    "log1p",
    [["no_such_feature"], ["claims", "claims"], "claims", [["claims"]]],
    ids=["unknown", "twice", "not-a-list", "nested"],
)
def test_a_model_file_with_a_bad_log_scale_is_refused(log1p: Any) -> None:
    model = {"features": list(FEATURES), "operating_point": 0.5, "kinds": {}}
    n = len(FEATURES)
    qa = {"mean": [0.0] * n, "scale": [1.0] * n, "weights": [0.0] * n, "bias": 0.0}
    model["kinds"] = {"qa": {**qa, "log1p": log1p}}
    with pytest.raises(TetherError) as caught:
        Aggregate.from_dict(model)
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_the_packaged_rule_loads_with_its_points_in_range() -> None:
    aggregate = packaged()
    assert set(aggregate.models) == {"qa", "summary", "data2txt"}
    for kind, model in aggregate.models.items():
        assert 0.0 < aggregate.point(kind) < 1.0
        assert len(model.weights) == len(FEATURES)
        assert all(0 <= j < len(FEATURES) for j in model.log1p)


def test_a_pack_point_is_never_chosen_on_held_out_probes(
    trainer: ModuleType, tmp_path: Path
) -> None:
    folders = [tmp_path / "dev", tmp_path / "probes" / "heldout"]
    with pytest.raises(SystemExit, match="held-out"):
        trainer.pack_point("retail", folders, tmp_path / "before.json", tmp_path / "after.json")


def answer(**values: float) -> list[float]:
    """A feature vector: every feature 0 but those named."""
    x = [0.0] * len(FEATURES)
    for name, value in values.items():
        x[FEATURES.index(name)] = value
    return x


def bounded(least: float) -> Logistic:
    """A rule that rises with claims, fitted on answers of 4 to 20 claims."""
    n = len(FEATURES)
    weights = [1.0 if f == "claims" else 0.0 for f in FEATURES]
    low, high = [0.0] * n, [100.0] * n
    low[0], high[0] = 4.0, 20.0
    return Logistic(
        (0.0,) * n, (1.0,) * n, tuple(weights), -6.0, (), tuple(low), tuple(high), least
    )


def test_a_feature_outside_the_fitted_range_is_held_to_it() -> None:
    rule = bounded(0.0)
    assert rule.probability(answer(claims=200)) == rule.probability(answer(claims=20))
    assert rule.probability(answer(claims=1)) == rule.probability(answer(claims=4))
    assert rule.probability(answer(claims=10)) > rule.probability(answer(claims=4))


def test_an_answer_saying_less_than_any_fitted_one_carries_its_share_of_the_risk() -> None:
    rule, plain = bounded(10.0), bounded(0.0)
    # log(1 + 4 terms), half of them words the evidence never uses: 2 things unverified
    short = answer(claims=20, log_terms=np.log1p(4), novel_share=0.5)
    assert unverified(short) == 2
    assert rule.probability(short) == pytest.approx(1 - (1 - plain.probability(short)) ** 0.2)
    more = answer(claims=20, log_terms=np.log1p(4), novel_share=0.5, unseen_numbers=3)
    assert rule.probability(short) < rule.probability(more) < plain.probability(more)
    # as much as the least fitted answer, or more: the fitted rule, untouched
    enough = answer(claims=20, log_terms=np.log1p(20), novel_share=0.5)
    assert rule.probability(enough) == plain.probability(enough)
    # nothing unverified still leaves the risk of one thing, never none
    assert 0.0 < rule.probability(answer(claims=20)) < rule.probability(short)


def test_a_contradiction_found_is_never_diluted_by_a_short_answer() -> None:
    rule, plain = bounded(10.0), bounded(0.0)
    contradicted = answer(claims=20, log_terms=np.log1p(2), novel_share=0.5, contradicted=1)
    assert unverified(contradicted) == float("inf")
    assert rule.probability(contradicted) == plain.probability(contradicted)


@pytest.mark.parametrize(
    "bounds",
    [{"low": [0.0] * len(FEATURES)}, {"low": [0.0], "high": [1.0]}, {"min_unverified": -1}],
    ids=["low-alone", "short", "negative"],
)
def test_a_model_file_with_bad_bounds_is_refused(bounds: dict[str, Any]) -> None:
    n = len(FEATURES)
    qa = {"mean": [0.0] * n, "scale": [1.0] * n, "weights": [0.0] * n, "bias": 0.0}
    model = {"features": list(FEATURES), "operating_point": 0.5, "kinds": {"qa": qa | bounds}}
    with pytest.raises(TetherError) as caught:
        Aggregate.from_dict(model)
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_a_model_fitted_on_fewer_features_scores_as_it_did(trainer: ModuleType) -> None:
    old = list(FEATURES[:-1])
    rng = np.random.RandomState(3)
    kind = {
        "mean": rng.rand(len(old)).tolist(),
        "scale": (rng.rand(len(old)) + 0.5).tolist(),
        "weights": rng.normal(size=len(old)).tolist(),
        "bias": 0.2,
        "log1p": ["claims"],
    }
    before = {"features": old, "operating_point": 0.5, "kinds": {"qa": kind}}
    widened = Aggregate.from_dict(trainer.widened(before))
    x = rng.rand(len(FEATURES)) * 5
    z = kind["bias"] + sum(
        w * ((np.log1p(v) if f == "claims" else v) - m) / s
        for f, v, m, s, w in zip(old, x, kind["mean"], kind["scale"], kind["weights"], strict=False)
    )
    assert widened.score("qa", x.tolist()) == pytest.approx(1 / (1 + np.exp(-z)))
    # the feature it lacked does not move its score
    x[-1] += 100.0
    assert widened.score("qa", x.tolist()) == pytest.approx(1 / (1 + np.exp(-z)))


def test_the_packaged_rule_records_the_range_it_was_fitted_on() -> None:
    aggregate = packaged()
    for model in aggregate.models.values():
        assert model.low is not None and model.high is not None
        assert all(lo <= hi for lo, hi in zip(model.low, model.high, strict=True))
    # RAGTruth's record answers are long: a short answer about a record is below their range
    assert aggregate.models["data2txt"].min_unverified > 3

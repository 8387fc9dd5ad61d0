"""A configuration file named by a TETHER_* variable that cannot be read as one is CONFIG_INVALID
naming the variable, exit 2: never INTERNAL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.refusal_helpers import error_of, start_server, tether

DEPTH = 100_000


def _deep_json(path: Path) -> Path:
    path.write_text("[" * DEPTH + "]" * DEPTH, encoding="utf-8")
    return path


def _deep_yaml(path: Path) -> Path:
    path.write_text("- " * DEPTH + "x\n", encoding="utf-8")
    return path


def _refused_as_prices(url: str, tmp_path: Path, prices: Path) -> None:
    """`tether kpi` with `prices` as its price table exits 2, CONFIG_INVALID naming the
    variable."""
    done = tether("kpi", "--json", url=url, cwd=tmp_path, env={"TETHER_MODEL_PRICES": str(prices)})
    assert done.returncode == 2, done.stdout
    error = error_of(done)
    assert error["code"] == "CONFIG_INVALID"
    assert "TETHER_MODEL_PRICES" in error["message"]


@pytest.mark.parametrize("name", ["prices.json", "prices.yaml"])
def test_a_deeply_nested_price_table_is_refused_naming_its_variable(
    sqlite_url: str, tmp_path: Path, name: str
) -> None:
    maker = _deep_json if name.endswith(".json") else _deep_yaml
    _refused_as_prices(sqlite_url, tmp_path, maker(tmp_path / name))


def test_a_deeply_nested_escalations_file_is_refused_with_its_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    routes = _deep_yaml(tmp_path / "escalations.yaml")

    done = tether(
        "approvals", "list", "--json",
        url=sqlite_url, cwd=tmp_path, env={"TETHER_ESCALATIONS": str(routes)},
    )  # fmt: skip

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "CONFIG_INVALID"


def test_a_server_with_a_deeply_nested_end_user_keys_file_refuses_to_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    keys = _deep_json(tmp_path / "end-user-keys.json")

    served, code, stderr = start_server(
        sqlite_url, tmp_path,
        {"TETHER_END_USER_KEYS": str(keys), "TETHER_END_USER_AUDIENCE": "shop"},
    )  # fmt: skip

    assert not served
    assert code == 2, stderr[-500:]
    assert "CONFIG_INVALID" in stderr and "TETHER_END_USER_KEYS" in stderr


def test_a_deeply_nested_policy_case_file_is_refused_with_its_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    _deep_yaml(cases / "deep.yaml")

    done = tether("policy", "test", str(cases), "--json", url=sqlite_url, cwd=tmp_path)

    assert done.returncode == 2, done.stdout
    assert error_of(done)["code"] == "SCENARIO_INVALID"


def test_a_price_table_file_that_is_not_utf8_is_refused_naming_its_variable(
    sqlite_url: str, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_bytes(
        '{"gpt-4o": {"input_per_1k": 0.5, "output_per_1k": 1.5}} \u00e9'.encode("latin-1")
    )
    _refused_as_prices(sqlite_url, tmp_path, prices)


def test_a_deeply_nested_tether_toml_is_refused_with_its_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    (tmp_path / "tether.toml").write_text(
        'domain = "retail"\nnested = ' + "[" * DEPTH + "]" * DEPTH + "\n", encoding="utf-8"
    )
    script = tmp_path / "script.yaml"
    script.write_text("- answer: hello\n", encoding="utf-8")

    done = tether(
        "run", "hello", "--as", "u1", "--script", str(script), "--json",
        url=sqlite_url, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 2, done.stdout
    error = error_of(done)
    assert error["code"] == "CONFIG_INVALID"
    assert "tether.toml" in error["message"]
    listed = tether("runs", "list", "--json", url=sqlite_url, cwd=tmp_path)
    assert json.loads(listed.stdout)["runs"] == []

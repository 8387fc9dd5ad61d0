"""Finding packs: the `retail` entry point, `module:attr` references, each way a pack fails to
load (with its stable code and the file at fault), and which pack a command hosts
(`--domain` > `TETHER_DOMAIN` > `tether.toml` > retail)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from tests.sdk.packs import bad_policy
from tests.sdk.packs.library import LIBRARY
from tether import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.sdk import (
    PolicySet,
    build_desk,
    configured_domain,
    list_domains,
    load_domain,
    resolve_domain,
)
from tether.store.runs import RunStore

PACKS = Path(__file__).parent / "packs"
PREFIX = "tests.sdk.packs"


def failure(reference: str) -> TetherError:
    with pytest.raises(TetherError) as caught:
        load_domain(reference)
    return caught.value


# -- packs that load ---------------------------------------------------------------------


def test_the_retail_entry_point_loads_the_retail_pack() -> None:
    [entry] = [ep for ep in metadata.entry_points(group="tether.domains") if ep.name == "retail"]
    assert entry.value == "tether.domains.retail.pack:RETAIL"
    assert load_domain("retail") is RETAIL
    assert RETAIL.version == metadata.version("tether")
    listed = {e.name: e for e in list_domains()}
    assert listed["retail"].domain is RETAIL and listed["retail"].error is None


def test_a_module_attr_reference_loads_the_library_pack() -> None:
    pack = load_domain(f"{PREFIX}.library:LIBRARY")
    assert pack is LIBRARY
    assert (pack.name, pack.version) == ("library", "0.1.0")
    assert pack.tool_names() == ("borrow_book", "find_book")
    assert pack.policies is None


def test_a_reference_to_a_factory_loads_what_it_returns() -> None:
    assert load_domain(f"{PREFIX}.library:library_pack") is LIBRARY


# -- packs that do not ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference", ["nosuch", f"{PREFIX}.library:", ":LIBRARY", f"{PREFIX}.library"]
)
def test_a_name_that_names_no_pack_is_not_found(reference: str) -> None:
    error = failure(reference)
    assert error.code is ErrorCode.DOMAIN_NOT_FOUND
    assert reference in error.message


def test_an_unknown_name_lists_the_installed_packs() -> None:
    message = failure("nosuch").message
    installed = message.split("(installed: ", 1)[1].rstrip(")").split(", ")
    assert "retail" in installed


def test_a_missing_attribute_names_the_module_file() -> None:
    error = failure(f"{PREFIX}.library:NOPE")
    assert error.code is ErrorCode.DOMAIN_INVALID
    assert "'NOPE'" in error.message
    assert error.details["file"] == str(PACKS / "library.py")


def test_an_import_error_in_the_pack_names_the_pack_file() -> None:
    error = failure(f"{PREFIX}.broken_import:PACK")
    assert error.code is ErrorCode.DOMAIN_INVALID
    assert "ModuleNotFoundError" in error.message
    assert "tether_sdk_tests_no_such_catalogue_driver" in error.message
    assert error.details["file"] == str(PACKS / "broken_import.py")
    assert str(PACKS / "broken_import.py") in error.message
    assert error.__cause__ is None and error.__suppress_context__  # no chained traceback


def test_an_attribute_that_is_not_a_domain_is_invalid() -> None:
    error = failure(f"{PREFIX}.not_a_domain:PACK")
    assert error.code is ErrorCode.DOMAIN_INVALID
    assert "is a int, not a tether.sdk.Domain" in error.message
    assert error.details["reference"] == f"{PREFIX}.not_a_domain:PACK"


def test_an_attribute_that_is_not_a_domain_names_its_file() -> None:
    error = failure(f"{PREFIX}.not_a_domain:PACK")
    assert error.details.get("file") == str(PACKS / "not_a_domain.py")


def test_an_invalid_declaration_is_invalid() -> None:
    error = failure(f"{PREFIX}.invalid_declaration:PACK")
    assert error.code is ErrorCode.DOMAIN_INVALID
    assert "declares no agent" in error.message


def test_an_invalid_declaration_names_its_file() -> None:
    error = failure(f"{PREFIX}.invalid_declaration:PACK")
    assert error.details.get("file") == str(PACKS / "invalid_declaration.py")
    assert error.details.get("reference") == f"{PREFIX}.invalid_declaration:PACK"


def test_an_invalid_policy_file_is_caught_at_load_and_named_with_its_line() -> None:
    error = failure(f"{PREFIX}.bad_policy:PACK")
    assert error.code is ErrorCode.DOMAIN_INVALID
    assert error.details["cause"] == ErrorCode.POLICY_INVALID.value
    assert error.details["file"] == str(bad_policy.BAD)
    assert error.details["line"] == 7  # the `when` clause with the stray `>>>`
    assert f"{bad_policy.BAD}:7" in error.message
    # the schema and the other file are sound: the bad file alone is at fault
    PolicySet(bad_policy.SCHEMA, (bad_policy.GOOD,)).engine()


def test_a_module_that_does_not_exist_is_not_found() -> None:
    error = failure(f"{PREFIX}.no_such_pack:PACK")
    assert error.code is ErrorCode.DOMAIN_NOT_FOUND
    assert "<frozen" not in error.message + str(error.details)


def test_a_pack_whose_setup_fails_still_loads() -> None:
    # setup runs over a store, so loading (static parts only) cannot see it fail
    pack = load_domain(f"{PREFIX}.raising_setup:PACK")
    assert pack.name == "flaky-library"


def test_a_pack_whose_setup_fails_is_invalid_when_a_desk_is_built(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    try:
        with pytest.raises(TetherError) as caught:
            build_desk(load_domain(f"{PREFIX}.raising_setup:PACK"), store)
    finally:
        store.close()
    assert caught.value.code is ErrorCode.DOMAIN_INVALID
    assert caught.value.details.get("file") == str(PACKS / "raising_setup.py")


# -- which pack a command hosts -------------------------------------------------------------


@pytest.fixture
def toml(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "tether.toml"
    path.write_text('domain = "from-toml"\n', encoding="utf-8")
    yield path


def test_the_flag_beats_the_environment(toml: Path) -> None:
    env = {"TETHER_DOMAIN": "from-env"}
    assert configured_domain("from-flag", env, toml) == "from-flag"


def test_the_environment_beats_the_config_file(toml: Path) -> None:
    assert configured_domain(None, {"TETHER_DOMAIN": " from-env "}, toml) == "from-env"


def test_the_config_file_beats_the_default(toml: Path) -> None:
    assert configured_domain(None, {}, toml) == "from-toml"
    assert configured_domain(None, {"TETHER_DOMAIN": "   "}, toml) == "from-toml"


def test_without_any_setting_the_default_is_retail(tmp_path: Path) -> None:
    assert configured_domain(None, {}, tmp_path / "absent.toml") == "retail"
    (tmp_path / "other.toml").write_text('model = "scripted"\n', encoding="utf-8")
    assert configured_domain(None, {}, tmp_path / "other.toml") == "retail"


def test_the_config_file_is_read_from_the_working_directory(
    toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(toml.parent)
    assert configured_domain(None, {}) == "from-toml"


def test_the_configured_pack_is_the_one_resolved(
    toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml.write_text(f'domain = "{PREFIX}.library:LIBRARY"\n', encoding="utf-8")
    monkeypatch.chdir(toml.parent)
    monkeypatch.delenv("TETHER_DOMAIN", raising=False)
    assert resolve_domain() is LIBRARY
    monkeypatch.setenv("TETHER_DOMAIN", "retail")
    assert resolve_domain() is RETAIL
    assert resolve_domain(f"{PREFIX}.library:library_pack") is LIBRARY


@pytest.mark.parametrize(
    "content", ["domain = [unclosed\n", "domain = 3\n", 'domain = "  "\n', b"\xff\xfe"]
)
def test_a_malformed_config_file_is_config_invalid(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "tether.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TetherError) as caught:
        configured_domain(None, {}, path)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert caught.value.details == {"file": str(path)}
    # a setting that outranks the file means it is never read
    assert configured_domain(None, {"TETHER_DOMAIN": "from-env"}, path) == "from-env"

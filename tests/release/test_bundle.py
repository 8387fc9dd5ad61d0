"""Content addressing: the same configuration always has the same id, any change a new one."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from tests.sdk.packs.library import LIBRARIAN, LIBRARY, fresh_data
from tether import ErrorCode, TetherError
from tether.core.envelope import Envelope, RetryPolicy
from tether.domains.retail.pack import RETAIL
from tether.release import Bundle, make_bundle
from tether.release.bundle import digest_of, plain
from tether.sdk import build_desk
from tether.sdk.release import desk_bundle
from tether.store.runs import RunStore

from .helpers import TOOL, bundle


def test_the_id_is_derived_from_the_content_alone() -> None:
    first, again = bundle(), bundle()
    assert first is not again and first.id == again.id
    assert first.id.startswith("rel_") and len(first.id) == 4 + 16
    assert first.digest == digest_of(json.loads(first.to_json()))
    assert first.id == "rel_" + first.digest[:16]
    # declaration order of agents, tools and policy files is not content
    assert bundle(
        tools=[dataclasses.replace(TOOL, name="b"), dataclasses.replace(TOOL, name="a")]
    ).id == (
        bundle(tools=[dataclasses.replace(TOOL, name="a"), dataclasses.replace(TOOL, name="b")]).id
    )


@pytest.mark.parametrize(
    "change",
    [
        {"instructions": "You help members find books. Cite every record."},
        {"model": {"adapter": "openai", "name": "gpt-4o-mini", "parameters": {"temperature": 0.0}}},
        {
            "tools": [
                dataclasses.replace(TOOL, envelope=Envelope(retry=RetryPolicy(max_attempts=5)))
            ]
        },
        {"policy": '@id("r")\n@reason("no")\nforbid (principal, action, resource);\n'},
        {"verifier": {"operating_point": 0.7}},
        {"knowledge": {"kb://x/": "1" * 64}},
        {"domain": {"name": "library", "version": "2.0.0"}},
    ],
    ids=["prompt", "model", "tool envelope", "policy", "verifier", "knowledge", "pack version"],
)
def test_any_change_gives_a_new_id(change: dict[str, object]) -> None:
    assert bundle(**change).id != bundle().id  # type: ignore[arg-type]


def test_a_desk_hashes_the_configuration_in_force(sqlite_url: str, tmp_path: Path) -> None:
    store = RunStore.open(sqlite_url)
    try:
        one = build_desk(LIBRARY, store, agents=(LIBRARIAN,), data=fresh_data())
        two = build_desk(LIBRARY, store, agents=(LIBRARIAN,), data=fresh_data())
        edited = dataclasses.replace(LIBRARIAN, instructions=LIBRARIAN.instructions + " Be brief.")
        three = build_desk(LIBRARY, store, agents=(edited,), data=fresh_data())
        assert one.release is not None and two.release is not None and three.release is not None
        assert one.release.bundle().id == two.release.bundle().id
        assert three.release.bundle().id != one.release.bundle().id
        agent = one.release.bundle().agent("librarian")
        assert agent is not None and agent["instructions"] == LIBRARIAN.instructions
    finally:
        store.close()


def test_the_retail_bundle_holds_policies_knowledge_and_envelopes(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    try:
        desk = build_desk(RETAIL, store, fresh=True)
        assert desk.parts is not None
        content = desk_bundle(RETAIL, desk.parts, RETAIL.agents, "revise").content
    finally:
        store.close()
    assert content["domain"] == {"name": RETAIL.name, "version": RETAIL.version}
    assert content["policies"]["schema"]["name"].endswith(".cedarschema")
    names = [f["name"] for f in content["policies"]["files"]]
    assert names == sorted(names) and "store.cedar" in names
    assert set(content["knowledge"]) == {"kb://retail/"}
    assert all(len(v) == 64 for v in content["knowledge"].values())
    cancel = next(t for t in content["tools"] if t["name"] == "cancel_pending_order")
    assert cancel["risk"] == "write" and "retry" in cancel["envelope"]
    assert content["verifier"]["claims_on_fail"] == "revise"
    assert "operating_point" in content["verifier"]["pack"]["config"]


def test_the_model_in_force_comes_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore.open(sqlite_url)
    try:
        desk = build_desk(LIBRARY, store, agents=(LIBRARIAN,), data=fresh_data())
        assert desk.parts is not None
        unset = desk_bundle(LIBRARY, desk.parts, (LIBRARIAN,), "revise", environ={})
        env = {"TETHER_MODEL": "openai:gpt-4o-mini", "TETHER_OPENAI_API_KEY": "sk-secret"}
        named = desk_bundle(LIBRARY, desk.parts, (LIBRARIAN,), "revise", environ=env)
    finally:
        store.close()
    assert unset.content["model"] == {"adapter": "", "name": "", "parameters": {}}
    assert named.content["model"]["name"] == "gpt-4o-mini"
    assert named.content["model"]["parameters"]["temperature"] == 0.0
    assert "sk-secret" not in named.to_json()  # a key is never part of a release


def test_a_bundle_holds_settings_never_code_or_nan() -> None:
    for bad in (lambda: 1, math.nan, object()):
        with pytest.raises(TetherError) as caught:
            plain({"x": bad})
        assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert plain({"s": frozenset({"b", "a"}), "p": Path("a/b")}) == {"s": ["a", "b"], "p": "a/b"}


def test_a_stored_bundle_of_the_wrong_shape_is_refused() -> None:
    good = json.loads(bundle().to_json())
    for broken in ({**good, "format": 9}, {k: v for k, v in good.items() if k != "tools"},
                   {**good, "agents": [{"name": "a"}]}, [1, 2]):  # fmt: skip
        with pytest.raises(TetherError) as caught:
            Bundle.from_json(json.dumps(broken))
        assert caught.value.code is ErrorCode.RELEASE_SOURCE_INVALID
    assert make_bundle(**{k: good[k] for k in ("domain", "model", "agents", "tools")},
                       policies=None, verifier={}, knowledge={}).content["policies"] == {
        "schema": None, "files": []}  # fmt: skip

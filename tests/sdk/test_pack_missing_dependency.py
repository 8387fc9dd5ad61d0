"""A pack that exists but whose import fails (a dependency it needs is missing) is
DOMAIN_INVALID naming the pack's file: not DOMAIN_NOT_FOUND claiming the pack is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.sdk import load_domain


def test_missing_dependency_of_an_existing_pack_is_domain_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pack module `librarydesk` needs its client library `library`, which is not installed
    pack = tmp_path / "librarydesk.py"
    pack.write_text("import library  # noqa\nLIBRARY = None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TetherError) as caught:
        load_domain("librarydesk:LIBRARY")
    assert caught.value.code is ErrorCode.DOMAIN_INVALID, caught.value.message
    assert str(pack) in caught.value.message
    assert "No module named 'library'" in caught.value.message

"""The guide runs: every ```python block of docs/guide.md, in order, in one namespace, in a
scratch folder (the blocks assert their own claims), and every excerpt it quotes from the
clinic pack is still in the pack's files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
PACK = ROOT / "src" / "tether" / "domains" / "clinic"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.M | re.S)


def blocks(lang: str) -> list[tuple[int, str, str]]:
    """(line, info string, body) of every fenced block of `lang` in the guide, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m["info"].strip(), m["body"])
        for m in FENCE.finditer(text)
        if m["lang"] == lang
    ]


def test_every_python_block_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / ".tether"))
    monkeypatch.chdir(tmp_path)
    runnable = [(line, body) for line, info, body in blocks("python") if "skip" not in info]
    assert len(runnable) >= 10
    namespace: dict[str, object] = {"__name__": "guide"}
    for line, body in runnable:
        exec(compile(body, f"{GUIDE}:{line}", "exec"), namespace)
    # the guide's own desk booked exactly one appointment in S201, and no other
    desk = namespace["desk"]
    booked = [a for a in desk.data.appointments.values() if a.slot_id == "S201"]  # type: ignore[attr-defined]
    assert [a.patient_id for a in booked] == ["ana-silva"]
    assert (tmp_path / ".tether" / "tether.db").exists()


def test_the_quoted_excerpts_are_in_the_pack() -> None:
    sources = {
        "cedar": [PACK / "policies" / "clinic.cedarschema", PACK / "policies" / "clinic.cedar"],
        "yaml": [
            *sorted((PACK / "scenarios").glob("*.yaml")),
            PACK / "policies" / "cases" / "clinic.yaml",
        ],
        "markdown": sorted((PACK / "kb").glob("*.md")),
        "toml": [ROOT / "pyproject.toml"],
    }
    for lang, files in sources.items():
        texts = [f.read_text(encoding="utf-8") for f in files]
        quoted = blocks(lang)
        assert quoted, lang
        for line, _, body in quoted:
            assert any(body in text for text in texts), f"guide.md:{line} quotes no {lang} file"


def test_the_case_count_the_guide_gives_is_right() -> None:
    cases = yaml.safe_load((PACK / "policies" / "cases" / "clinic.yaml").read_text())["cases"]
    policies = (PACK / "policies" / "clinic.cedar").read_text().count("@id(")
    text = GUIDE.read_text(encoding="utf-8")
    assert f"# {len(cases)} passed, 0 failed" in text
    assert f"# {policies} policies valid against the schema" in text

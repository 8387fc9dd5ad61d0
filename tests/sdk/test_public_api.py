"""The public API: what `tether` exports resolves, and the packs in the repo use nothing else."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import tether

ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "src" / "tether" / "domains"
# the documented subpackages a pack may import from, at package level only
PUBLIC = (
    "tether",
    "tether.sdk",
    "tether.tools",
    "tether.policy",
    "tether.grounding",
    "tether.access",
    "tether.approvals",
    "tether.models",
    "tether.observe",
)


def test_every_exported_name_resolves_and_is_documented() -> None:
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        exported = list(module.__all__)
        assert exported == sorted(set(exported), key=exported.index), module_name
        for name in exported:
            value = getattr(module, name)
            assert value is not None, f"{module_name}.{name}"
            ours = str(getattr(value, "__module__", "")).startswith("tether")
            if callable(value) and ours:  # classes and functions; type aliases have no doc
                doc = (getattr(value, "__doc__", None) or "").strip()
                assert doc, f"{module_name}.{name} has no docstring"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = tether.NoSuchThing  # type: ignore[attr-defined]


def test_importing_tether_loads_no_service_until_a_name_is_used() -> None:
    code = "import sys, tether; print(int('tether.runtime.loop' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
    return found


def pack_files() -> list[Path]:
    return sorted(PACKS.rglob("*.py"))


@pytest.mark.parametrize("path", pack_files(), ids=lambda p: str(p.relative_to(PACKS)))
def test_packs_use_only_the_public_api(path: Path) -> None:
    pack = "tether.domains." + path.relative_to(PACKS).parts[0]
    for line, module, names in _imports(path):
        if not (module == "tether" or module.startswith("tether.")):
            continue
        if module == pack or module.startswith(pack + ".") or module == "tether.domains":
            continue
        where = f"{path.relative_to(ROOT)}:{line}"
        assert module in PUBLIC, f"{where} imports the internal module {module}"
        exported = set(importlib.import_module(module).__all__)
        assert set(names) <= exported, f"{where} imports {set(names) - exported} from {module}"


def test_the_checker_catches_an_internal_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from tether.core.types import Agent\nfrom tether import Agent as A\n")
    modules = [m for _, m, _ in _imports(sneaky)]
    assert [m for m in modules if m not in PUBLIC] == ["tether.core.types"]

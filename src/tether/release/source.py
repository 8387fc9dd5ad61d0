"""A release as a directory of files a person edits and reviews:

    DIR/release.json            the settings: format, domain, model, agents (without their
                                instructions), tools, verifier, knowledge
    DIR/prompts/AGENT.md        each agent's instructions, exactly as the model gets them
    DIR/policies/*.cedarschema  the Cedar schema (one, when there are policies)
    DIR/policies/*.cedar        the Cedar policy files

`tether release export` writes this layout and `tether release create --from DIR` reads it; an
unchanged directory gives back the same release id. Policies are loaded and checked against
the schema before anything is stored, so a release never holds a policy set that cannot load.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.policy.source import load_policies
from tether.release.bundle import FORMAT, SECTIONS, Bundle, check_content

SETTINGS_FILE = "release.json"
PROMPTS, POLICIES = "prompts", "policies"
SCHEMA_SUFFIX, POLICY_SUFFIX = ".cedarschema", ".cedar"
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _bad(message: str) -> TetherError:
    return TetherError(ErrorCode.RELEASE_SOURCE_INVALID, message)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def read_release_dir(folder: Path) -> Bundle:
    """The bundle a release directory defines; RELEASE_SOURCE_INVALID (or POLICY_INVALID for a
    policy that does not load) naming the file otherwise."""
    if not folder.is_dir():
        raise _bad(f"{folder} is not a readable directory")
    settings_path = folder / SETTINGS_FILE
    try:
        settings = json.loads(_read(settings_path))
    except json.JSONDecodeError as exc:
        raise _bad(f"{settings_path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # an integer of 4,301+ digits; deep nesting
        raise _bad(f"{settings_path}: not JSON a release can hold ({exc})") from None
    if not isinstance(settings, dict):
        raise _bad(f"{settings_path}: must hold a JSON object")
    if "policies" in settings:
        raise _bad(f"{settings_path}: policies live in {POLICIES}/, not in {SETTINGS_FILE}")
    content: dict[str, Any] = {**settings, "policies": _read_policies(folder / POLICIES)}
    agents = content.get("agents")
    if isinstance(agents, list):
        content["agents"] = [_with_prompt(folder, agent) for agent in agents]
    try:
        return Bundle(check_content(content))
    except TetherError as exc:
        raise _bad(f"{settings_path}: {exc.message}") from None
    except RecursionError:
        raise _bad(f"{settings_path}: nested too deeply to check") from None


def _with_prompt(folder: Path, agent: Any) -> Any:
    if not isinstance(agent, dict) or not isinstance(agent.get("name"), str):
        return agent  # check_content names the problem
    if "instructions" in agent:
        raise _bad(f"agent {agent['name']!r}: instructions live in {PROMPTS}/{agent['name']}.md")
    return {**agent, "instructions": _read(folder / PROMPTS / f"{_safe(agent['name'])}.md")}


def _safe(name: str) -> str:
    if not _FILE_NAME.fullmatch(name):
        raise _bad(f"{name!r} cannot name a file (letters, digits, '.', '-', '_')")
    return name


def _read_policies(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        return {"schema": None, "files": []}
    if not folder.is_dir():
        raise _bad(f"{folder} is not a directory")
    schemas = sorted(folder.glob(f"*{SCHEMA_SUFFIX}"))
    files = sorted(folder.glob(f"*{POLICY_SUFFIX}"))
    if len(schemas) > 1:
        raise _bad(f"{folder}: one {SCHEMA_SUFFIX} file, not {len(schemas)}")
    if files and not schemas:
        raise _bad(f"{folder}: policy files need a {SCHEMA_SUFFIX} file beside them")
    if not files:
        return {"schema": None, "files": []}
    for path in (schemas[0], *files):  # a name export could not write back is refused here
        _safe(path.name)
    load_policies(schemas[0], files)  # POLICY_INVALID with file and line if a policy is bad
    return {
        "schema": {"name": schemas[0].name, "text": _read(schemas[0])},
        "files": [{"name": f.name, "text": _read(f)} for f in files],
    }


def write_release_dir(bundle: Bundle, folder: Path) -> list[Path]:
    """Write `bundle` as a release directory (the folder must be empty or new): whole or not at
    all, as it is written beside it and then renamed into place."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise _bad(f"{folder} exists and is not an empty directory")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        beside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise _bad(f"cannot write {folder}: {exc}") from None
    staging = beside / "release"  # made as the folder would be (the umask's mode, not 0700)
    try:
        staging.mkdir()
        written = _write_files(bundle, staging)
        os.replace(staging, folder)  # onto an empty folder too (POSIX rename)
    except OSError as exc:
        raise _bad(f"cannot write {folder}: {exc}") from None
    finally:
        shutil.rmtree(beside, ignore_errors=True)
    return [folder / path.relative_to(staging) for path in written]


def _write_files(bundle: Bundle, folder: Path) -> list[Path]:
    content = bundle.content
    settings = {k: content[k] for k in SECTIONS if k != "policies"}
    settings["format"] = FORMAT
    settings["agents"] = [
        {k: v for k, v in agent.items() if k != "instructions"} for agent in content["agents"]
    ]
    policies = content["policies"]
    items = [policies["schema"], *policies["files"]] if policies.get("files") else []
    for name in [a["name"] for a in content["agents"]] + [i["name"] for i in items]:
        _safe(name)  # every name is checked before the first file is written
    written: list[Path] = []
    (folder / PROMPTS).mkdir()
    for agent in content["agents"]:
        written.append(folder / PROMPTS / f"{agent['name']}.md")
        written[-1].write_text(agent["instructions"], encoding="utf-8")
    if items:
        (folder / POLICIES).mkdir()
        for item in items:
            written.append(folder / POLICIES / item["name"])
            written[-1].write_text(item["text"], encoding="utf-8")
    written.append(folder / SETTINGS_FILE)
    written[-1].write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return written

"""Finding domain packs: by entry point (group `tether.domains`), by `module:attr`, and the
one in force for a command (`--domain` > `TETHER_DOMAIN` > `tether.toml` > retail).

A pack that fails to load (import error, missing entry point, a value that is not a `Domain`,
an invalid policy set, a `sys.exit` of its own) is reported with a stable code and the file
at fault, never a traceback. What a pack prints while its code runs goes to stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tomllib
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.sdk.domain import Domain

GROUP = "tether.domains"
# what a pack's own code may raise and be reported for: `sys.exit` in a pack (at import, say,
# wanting a setting first) is its failure too, not the command's end; KeyboardInterrupt is the
# person's, and still stops the command
PACK_FAILURES = (Exception, SystemExit)
DEFAULT_DOMAIN = "retail"
CONFIG_FILE = "tether.toml"


@dataclass(frozen=True)
class DomainEntry:
    """A pack as `tether domains list` shows it: loaded, or the error that stopped it."""

    name: str
    module: str
    domain: Domain | None = None
    error: TetherError | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.domain
        return {
            "name": d.name if d else self.name,
            "version": d.version if d else None,
            "module": self.module,
            "agents": [a.name for a in d.agents] if d else [],
            "tools": list(d.tool_names()) if d else [],
            "ok": d is not None,
            "error": self.error.to_dict() if self.error else None,
        }


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


_RUNTIME = Path(__file__).resolve().parents[1]  # the tether package itself


def _at_fault(exc: BaseException) -> str:
    """The pack's file where the failure was raised: the deepest frame that is not the
    runtime's own code (packs shipped inside tether count as packs) nor the import system."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if name.startswith("<"):
            continue
        path = Path(name).resolve()
        ours = path.is_relative_to(_RUNTIME) and not path.is_relative_to(_RUNTIME / "domains")
        if not ours:
            return name
    return ""


def _loaded(value: Any, reference: str, file: str) -> Domain:
    if isinstance(value, Domain):
        return value
    if callable(value):  # a factory that returns the pack
        value = value()
        if isinstance(value, Domain):
            return value
    raise TetherError(
        ErrorCode.DOMAIN_INVALID,
        f"{reference} is a {type(value).__name__}, not a tether.sdk.Domain ({file})",
        {"reference": reference, "file": file},
    )


def _check(domain: Domain) -> Domain:
    """What can be checked without a store: the policy set parses against its schema."""
    if domain.policies is not None:
        domain.policies.engine()
    return domain


def pack_error(reference: str, exc: BaseException, file: str = "") -> TetherError:
    """A pack's failure as DOMAIN_INVALID, naming the pack and the file at fault."""
    where = file or _at_fault(exc)
    if isinstance(exc, TetherError):
        if exc.code is ErrorCode.DOMAIN_NOT_FOUND:
            return exc
        where = str(exc.details.get("file") or where)
        cause = "" if exc.code is ErrorCode.DOMAIN_INVALID else f"{exc.code.value}: "
        return TetherError(
            ErrorCode.DOMAIN_INVALID,
            f"domain {reference}: {cause}{exc.message}" + (f" ({where})" if where else ""),
            {**exc.details, "reference": reference, "cause": exc.code.value, "file": where},
        )
    if isinstance(exc, SystemExit):
        failure = f"exited: sys.exit({exc.code!r})"
    else:
        failure = f"failed: {type(exc).__name__}: {exc}"
    return TetherError(
        ErrorCode.DOMAIN_INVALID,
        f"domain {reference} {failure}" + (f" ({where})" if where else ""),
        {"reference": reference, "file": where},
    )


@contextlib.contextmanager
def pack_code() -> Iterator[None]:
    """A block running a pack's own code (its import, factory, setup, on_desk hook): what it
    prints goes to stderr, since stdout is the command's output (one JSON document with
    --json)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _guarded(reference: str, load: Callable[[], tuple[Any, str]]) -> Domain:
    file = ""
    try:
        with pack_code():
            value, file = load()
            return _check(_loaded(value, reference, file))
    except PACK_FAILURES as exc:  # any failure of a pack's own code is that pack's error
        raise pack_error(reference, exc, file if isinstance(exc, TetherError) else "") from None


def _file_of(module: Any) -> str:
    return str(getattr(module, "__file__", "") or "")


def load_reference(reference: str) -> Domain:
    """A pack named `module:attr` (attr a `Domain`, or a callable returning one)."""
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise TetherError(
            ErrorCode.DOMAIN_NOT_FOUND, f"{reference!r} is not a module:attr reference"
        )

    def load() -> tuple[Any, str]:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # absent only if the missing module is the pack's or a parent package of it; a
            # module the pack imports being missing is the pack's failure (DOMAIN_INVALID)
            missing = exc.name or ""
            if missing == module_name or module_name.startswith(missing + "."):
                raise TetherError(
                    ErrorCode.DOMAIN_NOT_FOUND, f"no module named {module_name!r}"
                ) from None
            raise
        if not hasattr(module, attr):
            raise TetherError(
                ErrorCode.DOMAIN_INVALID,
                f"module {module_name} has no attribute {attr!r}",
                {"file": _file_of(module)},
            )
        return getattr(module, attr), _file_of(module)

    return _guarded(reference, load)


def load_domain(name: str) -> Domain:
    """The pack by entry-point name or `module:attr` (DOMAIN_NOT_FOUND, DOMAIN_INVALID)."""
    if ":" in name:
        return load_reference(name)
    found = _entry_points().get(name)
    if found is None:
        known = ", ".join(sorted(_entry_points())) or "none installed"
        raise TetherError(
            ErrorCode.DOMAIN_NOT_FOUND, f"no domain pack named {name!r} (installed: {known})"
        )

    def load() -> tuple[Any, str]:
        value = found.load()
        module = importlib.import_module(found.module)
        return value, _file_of(module)

    return _guarded(f"{name} ({found.value})", load)


def list_domains() -> list[DomainEntry]:
    """Every installed pack, each loaded or with the error that stopped it."""
    entries = []
    for name, ep in sorted(_entry_points().items()):
        try:
            entries.append(DomainEntry(name, ep.value, load_domain(name)))
        except TetherError as exc:
            entries.append(DomainEntry(name, ep.value, error=exc))
    return entries


def configured_domain(
    flag: str | None = None,
    environ: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> str:
    """Which pack a command hosts: `--domain` > `TETHER_DOMAIN` > `tether.toml`'s
    `domain` > retail. `config` defaults to `./tether.toml`."""
    if flag:
        return flag
    env = os.environ if environ is None else environ
    if env.get("TETHER_DOMAIN", "").strip():
        return env["TETHER_DOMAIN"].strip()
    path = config if config is not None else Path.cwd() / CONFIG_FILE
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"{path}: cannot read: {exc}", {"file": str(path)}
            ) from None
        except RecursionError:  # nested past what the TOML parser can descend
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"{path}: cannot read: nested too deep to parse",
                {"file": str(path)},
            ) from None
        value = data.get("domain")
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise TetherError(
                    ErrorCode.CONFIG_INVALID,
                    f"{path}: 'domain' must be a pack name or module:attr",
                    {"file": str(path)},
                )
            return value.strip()
    return DEFAULT_DOMAIN


def resolve_domain(flag: str | None = None) -> Domain:
    """The pack in force for a command (see `configured_domain`), loaded."""
    return load_domain(configured_domain(flag))

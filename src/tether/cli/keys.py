"""`tether keys | signing-keys | tokens`: operator API keys, signing keys, token revocation."""

from __future__ import annotations

import getpass
import time
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.table import Table
from rich.text import Text

from tether.access.audit import AuditEvent
from tether.access.canonical import b64url_decode
from tether.access.control import AccessControl
from tether.access.keysource import key_id_for
from tether.access.revocation import check_token_id
from tether.access.settings import MAX_TOKEN_TTL_S
from tether.cli.common import err, out, print_json, user_errors
from tether.core.errors import ErrorCode, TetherError
from tether.store.runs import RunStore

keys_app = typer.Typer(
    help="Operator API keys (viewer, approver, admin, service) for the API and dashboard.",
    no_args_is_help=True,
)
signing_app = typer.Typer(
    help="Ed25519 keys that sign capability tokens and audit checkpoints.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Capability tokens.", no_args_is_help=True)


def open_access() -> AccessControl:
    """The access layer over the configured store (TETHER_DATABASE_URL or ./.tether)."""
    return AccessControl.open(RunStore.open().engine)


def cli_actor() -> str:
    """How audit events name a person using the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def _when(value: float | None) -> str:
    return "" if value is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def announce_first_admin(access: AccessControl, dashboard_url: str | None = None) -> None:
    """On first start, make an admin key and print it once; then say how to reach the dashboard."""
    key = access.operators.bootstrap_admin()
    if key is not None:
        err.print("created the first admin API key; it is shown only now, so keep it safe:")
        err.print(f"  {key}", markup=False)
    if dashboard_url is not None:
        err.print(f"dashboard: {dashboard_url}/  (log in with an operator API key)", markup=False)
        err.print(
            "  make a read-only key with: tether keys create --role viewer; "
            "API calls send it as 'Authorization: Bearer <key>'",
            markup=False,
        )


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer | approver | admin | service")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    with user_errors(as_json):
        key, info = open_access().operators.create(role, name, actor=cli_actor())
    if as_json:
        print_json({"key": key, **info.to_dict()})
        return
    out.print(f"created {info.role.value} key {info.id} ({info.name})", markup=False)
    out.print(key, markup=False)
    err.print("the key is shown only now; store it somewhere safe")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List API keys (never their secrets)."""
    with user_errors(as_json):
        found = open_access().operators.list_keys()
    if as_json:
        print_json({"keys": [k.to_dict() for k in found]})
        return
    table = Table("id", "role", "name", "created", "by", "revoked")
    for k in found:
        table.add_row(
            k.id,
            k.role.value,
            Text(k.name),
            _when(k.created_at),
            Text(k.created_by),
            _when(k.revoked_at),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after tk_).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke an API key; requests with it are refused from now on."""
    with user_errors(as_json):
        info = open_access().operators.revoke(key_id.removeprefix("tk_"), actor=cli_actor())
    if as_json:
        print_json(info.to_dict())
        return
    out.print(f"revoked key {info.id} ({info.role.value}, {info.name})", markup=False)


@signing_app.command("list")
def signing_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List signing keys: id, status, age (public halves only)."""
    with user_errors(as_json):
        access = open_access()
        found = access.keys.list_keys()
    now, grace = time.time(), access.keys.token_grace_s
    if as_json:
        print_json({"keys": [k.to_dict(now, grace) for k in found]})
        return
    table = Table("kid", "status", "created", "retired", "encrypted at rest")
    for k in found:
        table.add_row(
            k.kid,
            k.status(now, grace),
            _when(k.created_at),
            _when(k.retired_at),
            "yes" if k.encrypted else "no",
        )
    out.print(table)


@signing_app.command("rotate")
def signing_rotate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sign with a new key from now on, pinned in the trust file first; the old one still
    verifies tokens for one TTL and the checkpoints it signed for ever."""
    with user_errors(as_json):
        access = open_access()
        info = access.keys.rotate(actor=cli_actor())
    if as_json:
        print_json(info.to_dict(time.time(), access.keys.token_grace_s))
        return
    out.print(f"signing with {info.kid} from now on", markup=False)


@signing_app.command("pin")
def signing_pin(
    public_key: Annotated[
        str,
        typer.Argument(
            help="The raw Ed25519 public key, base64url; one that begins with '-' goes after '--'."
        ),
    ],
    note: Annotated[str, typer.Option(help="Where the key lives (a KMS key's name).")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Trust a key whose private half tether never sees (a KMS or HSM key) by pinning its
    public half in the trust file; tether pins the keys it makes itself."""
    with user_errors(as_json):
        access = open_access()
        try:
            raw = b64url_decode(public_key.strip())
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise TetherError(
                ErrorCode.BAD_REQUEST, "the public key must be 32 bytes of Ed25519, base64url"
            ) from None
        kid = key_id_for(raw)
        added = access.keys.trust.pin(kid, raw, time.time(), note or "pinned by an operator")
        if added:
            data = {"kid": kid, "note": note}
            access.audit.append([AuditEvent("signing_key.pinned", cli_actor(), data)])
    if as_json:
        print_json({"kid": kid, "pinned": added, "trust_file": str(access.keys.trust.path)})
        return
    said = "pinned" if added else "was already pinned:"
    out.print(f"{said} {kid} in {access.keys.trust.path}", markup=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (tok_...), as steps record it.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Refuse a capability token from now on (for the longest time it could still live)."""
    with user_errors(as_json):
        check_token_id(token_id)  # before the store: the same answer on every store
        access = open_access()
        # the token may come from a process with a longer TETHER_TOKEN_TTL than this one's
        until = time.time() + MAX_TOKEN_TTL_S
        access.revocations.revoke(token_id, until)
        event = AuditEvent("token.revoked", cli_actor(), {"token_id": token_id})
        access.audit.append([event])
    if as_json:
        print_json({"token_id": token_id, "revoked": True})
        return
    out.print(f"revoked {token_id}", markup=False)

"""End-user tokens on the conversation endpoints: the customer's application signs a JWT for its
customer, the server verifies it against the configured keys (TETHER_END_USER_KEYS), and the
conversation is bound to its `sub`. Every forged, expired, misaddressed or mismatched token is
refused with a stable code and writes nothing; the key file is checked when the server starts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tests.server.conversation_site import (
    CANCEL_SCRIPT,
    CANCEL_TEXT,
    CANCELLED_SCRIPT,
    OTHER_USER,
    USER,
    Site,
    assert_problem,
    open_site,
)
from tether.access.end_users import EndUserKey, EndUserVerifier, load_keys, parse_key
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError

AUDIENCE = "tether-tests"
ISSUER = "https://shop.example"
KID = "shop-2025"
SECRET = "s" * 40
APP_KEY = ed25519.Ed25519PrivateKey.generate()
IMPOSTOR_KEY = ed25519.Ed25519PrivateKey.generate()


def _pem(key: Any) -> str:
    return str(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )


def token(
    sub: str | None = USER,
    *,
    key: Any = APP_KEY,
    alg: str = "EdDSA",
    kid: str | None = KID,
    exp_in: float | None = 300,
    **claims: Any,
) -> str:
    """A token as the customer's application signs it (every default is the good one)."""
    payload: dict[str, Any] = {"aud": AUDIENCE, "iss": ISSUER, "iat": int(time.time())}
    if sub is not None:
        payload["sub"] = sub
    if exp_in is not None:
        payload["exp"] = int(time.time() + exp_in)
    payload = {k: v for k, v in {**payload, **claims}.items() if v is not None}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def _key_file(tmp_path: Path, keys: list[dict[str, Any]]) -> Path:
    path = tmp_path / "end-user-keys.json"
    path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    return path


def _configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Configure end-user keys the way an operator does: a key file and the environment."""
    path = _key_file(
        tmp_path,
        [
            {"kid": KID, "alg": "EdDSA", "key": _pem(APP_KEY)},
            {"kid": "shop-hmac", "alg": "HS256", "key": SECRET},
        ],
    )
    monkeypatch.setenv("TETHER_END_USER_KEYS", str(path))
    monkeypatch.setenv("TETHER_END_USER_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("TETHER_END_USER_ISSUER", ISSUER)


@pytest.fixture
def keyed_site(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A server with end-user keys, on SQLite and on PostgreSQL."""
    _configure(tmp_path, monkeypatch)
    with open_site(store_url) as site:
        yield site


@pytest.fixture
def sqlite_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A server with end-user keys on SQLite (for what does not depend on the store)."""
    _configure(tmp_path, monkeypatch)
    with open_site(f"sqlite:///{tmp_path / 't.db'}") as site:
        yield site


def _start(site: Site, bearer: str, role: str = "service") -> str:
    with site.client(role, token=bearer) as c:
        created = c.post("/v1/conversations", json={})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_customer_identified_by_their_token(keyed_site: Site) -> None:
    site, mine = keyed_site, token()
    with site.client("service", token=mine) as c:
        created = c.post("/v1/conversations", json={"principal": USER})
        assert created.status_code == 201, created.text
        conversation = created.json()
        assert conversation["principal"] == USER
        assert conversation["principal_source"] == "end_user_token"
        assert conversation["asserted_by"] == f"end_user:{ISSUER}"
        cid = conversation["id"]
        proposed = c.post(
            f"/v1/conversations/{cid}/messages?wait=10",
            json={"text": CANCEL_TEXT, "script": CANCEL_SCRIPT},
        )
        assert proposed.status_code == 200, proposed.text
        nonce = proposed.json()["pending_action"]["nonce"]
        # a token may be minted per request: a fresh one, signed with the HMAC key, also works
        with site.client("service", token=token(key=SECRET, alg="HS256", kid="shop-hmac")) as c2:
            done = c2.post(
                f"/v1/conversations/{cid}/messages?wait=10",
                json={"confirm": nonce, "script": CANCELLED_SCRIPT},
            )
        assert done.status_code == 200, done.text
        assert done.json()["decision"]["kind"] == "action"
    assert site.order_status() == "cancelled"

    operated = site.start(OTHER_USER)
    with site.client("viewer", token=mine) as viewer:  # reading needs runs:read, and the token
        shown = viewer.get(f"/v1/conversations/{cid}")
        assert shown.status_code == 200, shown.text
        assert len(shown.json()["turns"]) == 2
        listed = viewer.get("/v1/conversations").json()["conversations"]
        assert [x["id"] for x in listed] == [cid]  # only the token's customer's
        assert_problem(
            viewer.get("/v1/conversations", params={"principal": OTHER_USER}),
            403,
            ErrorCode.CONVERSATION_FORBIDDEN,
        )
        assert_problem(
            viewer.get(f"/v1/conversations/{operated}"), 403, ErrorCode.CONVERSATION_FORBIDDEN
        )
    assert site.record(cid).turns == 2


def test_a_token_conversation_needs_its_customers_token(keyed_site: Site) -> None:
    site = keyed_site
    cid = _start(site, token())
    runs = site.total_runs()
    theirs = token(OTHER_USER)
    for role, bearer in (("service", None), ("admin", None), ("service", theirs)):
        with site.client(role, token=bearer) as c:
            for response in (
                c.post(f"/v1/conversations/{cid}/messages", json={"text": "cancel everything"}),
                c.post(f"/v1/conversations/{cid}/close"),
            ):
                assert_problem(response, 403, ErrorCode.CONVERSATION_FORBIDDEN)
    with site.client("admin", token=theirs) as admin:
        assert_problem(admin.get(f"/v1/conversations/{cid}"), 403, ErrorCode.CONVERSATION_FORBIDDEN)
    record = site.record(cid)
    assert record.status == "open" and record.turns == 0 and site.total_runs() == runs


def test_the_body_may_not_name_another_principal(sqlite_site: Site) -> None:
    site = sqlite_site
    with site.client("service", token=token()) as c:
        assert_problem(
            c.post("/v1/conversations", json={"principal": OTHER_USER}),
            403,
            ErrorCode.CONVERSATION_FORBIDDEN,
        )
    assert site.total_conversations() == 0


def _forgeries() -> dict[str, Callable[[], str]]:
    now = int(time.time())
    return {
        "wrong key": lambda: token(key=IMPOSTOR_KEY),
        "expired": lambda: token(exp_in=-120),
        "wrong audience": lambda: token(aud="another-app"),
        "wrong issuer": lambda: token(iss="https://evil.example"),
        "no exp": lambda: token(exp_in=None),
        "no sub": lambda: token(sub=None),
        "empty sub": lambda: token(sub=""),
        "not yet valid": lambda: token(nbf=now + 600),
        "unknown kid": lambda: token(kid="someone-else"),
        "no kid": lambda: token(kid=None),
        "alg none": _unsigned,
        # the public key used as an HMAC secret: the key's algorithm is fixed, so it fails
        "algorithm confusion": lambda: _hs256_with(_pem(APP_KEY)),
        "tampered payload": lambda: _tampered(token()),
        "not a JWT": lambda: "definitely-not-a-jwt",
        "too long": lambda: token(padding="x" * 9000),
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims() -> dict[str, Any]:
    return {"sub": USER, "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 300}


def _unsigned() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def _hs256_with(secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64(signature.digest())}"


def _tampered(good: str) -> str:
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = OTHER_USER
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("forgery", list(_forgeries()))
def test_each_bad_token_is_401_and_writes_nothing(sqlite_site: Site, forgery: str) -> None:
    site = sqlite_site
    cid = _start(site, token())
    runs, conversations = site.total_runs(), site.total_conversations()
    bad = _forgeries()[forgery]()
    with site.client("service", token=bad) as c:
        for response in (
            c.post("/v1/conversations", json={}),
            c.post(f"/v1/conversations/{cid}/messages", json={"text": "hello"}),
            c.post(f"/v1/conversations/{cid}/close"),
        ):
            assert_problem(response, 401, ErrorCode.END_USER_TOKEN_INVALID)
    assert (site.total_runs(), site.total_conversations()) == (runs, conversations)
    assert site.record(cid).turns == 0 and site.record(cid).status == "open"


def test_a_little_clock_skew_is_tolerated(sqlite_site: Site) -> None:
    _start(sqlite_site, token(exp_in=-10))  # expired by less than the leeway


def test_tokens_are_refused_where_no_keys_are_configured(tmp_path: Path) -> None:
    with (
        open_site(f"sqlite:///{tmp_path / 't.db'}") as site,
        site.client("service", token=token()) as c,
    ):
        assert_problem(c.post("/v1/conversations", json={}), 401, ErrorCode.END_USER_TOKEN_INVALID)
        assert site.total_conversations() == 0


# -- the verifier and its key file ---------------------------------------------------------


def _private_pem(key: Any) -> str:
    return str(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode())


@pytest.mark.parametrize(
    ("alg", "private"),
    [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ],
)
def test_each_public_key_algorithm_verifies(alg: str, private: Any) -> None:
    key = parse_key({"kid": "k", "alg": alg, "key": _pem(private)}, 0)
    verifier = EndUserVerifier([key], AUDIENCE)
    user = verifier.verify(token(key=private, alg=alg, kid="k", iss=None))
    assert user.principal_id == USER and user.asserted_by == "end_user:k"  # no iss: the key
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS256"
        else (ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else IMPOSTOR_KEY)
    )
    with pytest.raises(TetherError) as caught:
        verifier.verify(token(key=other, alg=alg, kid="k"))
    assert caught.value.code is ErrorCode.END_USER_TOKEN_INVALID


def test_expiry_is_judged_on_the_injected_clock() -> None:
    clock = ManualClock(time.time())
    key = EndUserKey(KID, "HS256", SECRET.encode())
    verifier = EndUserVerifier([key], AUDIENCE, ISSUER, clock=clock, leeway_s=30)
    good = token(key=SECRET, alg="HS256", exp_in=60)
    assert verifier.verify(good).principal_id == USER
    clock.advance(89)
    assert verifier.verify(good).principal_id == USER
    clock.advance(2)
    with pytest.raises(TetherError, match="expired"):
        verifier.verify(good)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"kid": "k", "alg": "HS256", "key": "short"}, "32 bytes"),
        ({"kid": "k", "alg": "none", "key": SECRET}, "alg must be one of"),
        ({"kid": "", "alg": "HS256", "key": SECRET}, "kid"),
        ({"kid": "k", "alg": "EdDSA", "key": "not a pem"}, "PEM public key"),
        ({"kid": "k", "alg": "EdDSA", "key": _private_pem(APP_KEY)}, "PEM public key"),
        (
            {"kid": "k", "alg": "RS256", "key": _pem(rsa.generate_private_key(65537, 1024))},
            "not a usable RS256",
        ),
        (
            {"kid": "k", "alg": "ES256", "key": _pem(ec.generate_private_key(ec.SECP384R1()))},
            "not a usable ES256",
        ),
        ({"kid": "k", "alg": "ES256", "key": _pem(APP_KEY)}, "not a usable ES256"),
    ],
)
def test_bad_keys_are_refused_at_start(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(TetherError) as caught:
        parse_key(entry, 0)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert problem in caught.value.message


def test_the_key_file_and_environment_are_checked(tmp_path: Path) -> None:
    assert EndUserVerifier.from_env({}) is None
    good = _key_file(tmp_path, [{"kid": "k", "alg": "HS256", "key": SECRET}])
    env = {"TETHER_END_USER_KEYS": str(good)}
    with pytest.raises(TetherError, match="TETHER_END_USER_AUDIENCE"):
        EndUserVerifier.from_env(env)
    verifier = EndUserVerifier.from_env({**env, "TETHER_END_USER_AUDIENCE": AUDIENCE})
    assert verifier is not None and verifier.issuer is None
    bad_files = {
        "missing.json": None,
        "not-json.json": "{keys",
        "empty.json": json.dumps({"keys": []}),
        "twice.json": json.dumps({"keys": [{"kid": "k", "alg": "HS256", "key": SECRET}] * 2}),
    }
    for name, text in bad_files.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        with pytest.raises(TetherError) as caught:
            load_keys(path)
        assert caught.value.code is ErrorCode.CONFIG_INVALID, name

"""Dense embeddings for hybrid retrieval, through a pluggable `Embedder` (none by default).

Implementations: `OpenAIEmbedder` for any OpenAI-compatible `/embeddings` endpoint (httpx),
`SentenceTransformerEmbedder` for a local sentence-transformers model (the package is not a
dependency: it is imported on first use), and `HashEmbedder`, a deterministic feature-hashing
baseline with no model at all. `EmbeddingCache` keeps vectors in the system of record by
embedder and text hash, so a replica rebuilding its index never embeds the same text twice.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.bm25 import tokenize
from tether.store.grounding_schema import embeddings as embeddings_table

# numpy is imported where vectors are made: a process that never embeds (most commands)
# does not pay for loading it
if TYPE_CHECKING:
    import numpy as np

    Vectors = np.ndarray[Any, np.dtype[np.float32]]


def __getattr__(name: str) -> Any:
    """`Vectors` at run time, made when first asked for (numpy loads then)."""
    if name == "Vectors":
        import numpy as np

        return np.ndarray[Any, np.dtype[np.float32]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Embedder(Protocol):
    """Turns texts into vectors; same model for passages and queries."""

    @property
    def name(self) -> str:
        """Names the model (and its settings): vectors of different names never mix."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """A float32 matrix, one row per text."""
        ...


def normalise_rows(matrix: Any) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    import numpy as np

    array = np.asarray(matrix, dtype=np.float32)
    if array.ndim != 2:
        raise TetherError(ErrorCode.MODEL_BAD_OUTPUT, "embeddings must form a matrix")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


class HashEmbedder:
    """Bag of stemmed words hashed into `dims` signed buckets, log-scaled term counts.

    It captures word overlap only (no meaning), needs nothing installed, and is deterministic:
    for tests, benchmarks, and as a floor to compare real models against.
    """

    def __init__(self, dims: int = 256) -> None:
        if not 8 <= dims <= 8192:
            raise TetherError(ErrorCode.CONFIG_INVALID, f"hash dims must be 8..8192, got {dims}")
        self.dims = dims

    @property
    def name(self) -> str:
        return f"hash:{self.dims}"

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dims, 1.0 if value >> 63 else -1.0

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        buckets: dict[str, tuple[int, float]] = {}
        for row, tokens in enumerate(tokenize(list(texts)) if texts else []):
            counts: dict[str, int] = {}
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
            for token, count in counts.items():
                found = buckets.get(token)
                if found is None:
                    found = buckets[token] = self._bucket(token)
                out[row, found[0]] += found[1] * (1.0 + math.log(count))
        return normalise_rows(out)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (a name or a path), loaded on first use.

    The package is not installed with tether: `pip install sentence-transformers`. Give a local
    path to keep the model from being fetched from a hub at run time.
    """

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 32) -> None:
        if not model.strip():
            raise TetherError(ErrorCode.CONFIG_INVALID, "the embedding model name is empty")
        self.model = model.strip()
        self.device = device
        self.batch_size = batch_size
        self._loaded: Any = None

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self.model}"

    def _load(self) -> Any:
        if self._loaded is None:
            try:
                module = importlib.import_module("sentence_transformers")  # optional dependency
            except ImportError:
                raise TetherError(
                    ErrorCode.CONFIG_INVALID,
                    "sentence-transformers is not installed; pip install sentence-transformers "
                    "to use a local embedding model",
                ) from None
            self._loaded = module.SentenceTransformer(self.model, device=self.device)
        return self._loaded

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return normalise_rows(vectors)


def _endpoint(base_url: str) -> str:
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"invalid base URL {base_url!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"base URL must be http(s)://host[/path], got {base_url!r}"
        )
    return str(url).rstrip("/") + "/embeddings"


def _bad(message: str) -> TetherError:
    return TetherError(ErrorCode.MODEL_BAD_OUTPUT, f"the embeddings endpoint {message}")


class OpenAIEmbedder:
    """Any OpenAI-compatible `POST {base_url}/embeddings` (OpenAI, vLLM, Ollama, llama.cpp).

    Inputs go in batches of `batch_size`; vectors come back in input order whether the
    endpoint answers with float lists or base64-packed float32.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 30.0,
        batch_size: int = 64,
        dimensions: int | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not model.strip():
            raise TetherError(ErrorCode.CONFIG_INVALID, "the embedding model name is empty")
        if not (math.isfinite(timeout_s) and timeout_s > 0) or batch_size < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "timeout and batch size must be > 0")
        self.model = model.strip()
        self.url = _endpoint(base_url)
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._api_key = api_key or None
        self._client = client or httpx.Client(timeout=timeout_s)

    @property
    def name(self) -> str:
        suffix = f"@{self.dimensions}" if self.dimensions else ""
        return f"openai:{self.model}{suffix}"

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        rows: list[Vectors] = []
        for start in range(0, len(texts), self.batch_size):
            rows.append(self._batch(list(texts[start : start + self.batch_size])))
        if not rows:
            return np.zeros((0, self.dimensions or 0), dtype=np.float32)
        widths = {r.shape[1] for r in rows}
        if len(widths) != 1:
            raise _bad(f"returned vectors of different sizes: {sorted(widths)}")
        return normalise_rows(np.vstack(rows))

    def _batch(self, texts: list[str]) -> Vectors:
        body: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = self._client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise TetherError(
                ErrorCode.MODEL_TIMEOUT, f"the embeddings endpoint {self.url} timed out"
            ) from None
        except httpx.TransportError as exc:
            raise TetherError(
                ErrorCode.MODEL_UNAVAILABLE,
                f"cannot reach the embeddings endpoint {self.url}: {type(exc).__name__}",
            ) from None
        if response.status_code != 200:
            raise self._status_error(response)
        try:
            payload = response.json()
        except ValueError:
            raise _bad("answered with a body that is not JSON") from None
        return _vectors(payload, len(texts))

    def _status_error(self, response: httpx.Response) -> TetherError:
        status = response.status_code
        text = response.text[:300]
        if self._api_key:
            text = text.replace(self._api_key, "***")
        summary = f"the embeddings endpoint answered HTTP {status}: {text}"
        details = {"status": status, "url": self.url}
        if status == 429:
            return TetherError(ErrorCode.MODEL_RATE_LIMITED, summary, details)
        if status in (401, 403):
            return TetherError(ErrorCode.MODEL_AUTH_FAILED, summary, details)
        if 400 <= status < 500:
            return TetherError(ErrorCode.MODEL_BAD_REQUEST, summary, details)
        return TetherError(ErrorCode.MODEL_UNAVAILABLE, summary, details)


def _vector(value: Any) -> list[float]:
    import numpy as np

    if isinstance(value, str):  # encoding_format=base64: packed little-endian float32
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise _bad("sent an embedding that is not base64") from None
        return [float(x) for x in np.frombuffer(raw, dtype="<f4")]
    if not isinstance(value, list) or not value:
        raise _bad("sent an embedding that is not a list of numbers")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise _bad("sent an embedding with a value that is not a number")
    return [float(x) for x in value]


def _vectors(payload: Any, expected: int) -> Vectors:
    import numpy as np

    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list) or len(data) != expected:
        got = len(data) if isinstance(data, list) else "no"
        raise _bad(f"returned {got} embeddings for {expected} inputs")
    ordered: list[list[float] | None] = [None] * expected
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, Mapping) else None
        if not isinstance(index, int) or not 0 <= index < expected or ordered[index] is not None:
            raise _bad(f"returned an embedding with index {index!r}")
        ordered[index] = _vector(item.get("embedding"))
    widths = {len(v) for v in ordered if v is not None}
    if len(widths) != 1:
        raise _bad(f"returned vectors of different sizes: {sorted(widths)}")
    matrix = np.asarray(ordered, dtype=np.float32)
    if not np.isfinite(matrix).all():
        raise _bad("returned a vector with a value that is not finite")
    return matrix


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def embedder_from_env(
    spec: str | None = None, environ: Mapping[str, str] | None = None
) -> Embedder | None:
    """The embedder `spec` (or TETHER_EMBEDDINGS) names; None when unset or `none`.

    openai:<model>                  TETHER_EMBEDDINGS_BASE_URL (else the chat model's base
                                    URL variables), key TETHER_EMBEDDINGS_API_KEY or
                                    OPENAI_API_KEY
    sentence-transformers:<model>   a local model name or path
    hash:<dims>                     the feature-hashing baseline
    """
    env = os.environ if environ is None else environ
    text = (env.get("TETHER_EMBEDDINGS", "") if spec is None else spec).strip()
    if not text or text.lower() == "none":
        return None
    scheme, _, rest = text.partition(":")
    scheme, rest = scheme.strip().lower(), rest.strip()
    if scheme == "openai" and rest:
        base = _first(
            env, "TETHER_EMBEDDINGS_BASE_URL", "TETHER_OPENAI_BASE_URL", "OPENAI_BASE_URL"
        )
        key = _first(env, "TETHER_EMBEDDINGS_API_KEY", "TETHER_OPENAI_API_KEY", "OPENAI_API_KEY")
        return OpenAIEmbedder(rest, base or "https://api.openai.com/v1", key)
    if scheme == "sentence-transformers" and rest:
        return SentenceTransformerEmbedder(rest)
    if scheme == "hash":
        try:
            return HashEmbedder(int(rest or "256"))
        except ValueError:
            pass
    raise TetherError(
        ErrorCode.CONFIG_INVALID,
        f"embeddings spec {text!r} is not openai:<model>, sentence-transformers:<model>, "
        "hash:<dims> or none",
    )


def text_hash(text: str) -> str:
    """sha256 hex of a text, the cache key of its vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors in the system of record, by embedder name and text hash."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> Vectors:
        """Vectors for `texts`: stored ones read back, the rest embedded and stored."""
        import numpy as np

        keys = [text_hash(t) for t in texts]
        found: dict[str, Vectors] = {}
        table = embeddings_table
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                stmt = select(table.c.text_hash, table.c.vector).where(
                    table.c.embedder == embedder.name, table.c.text_hash.in_(batch)
                )
                for key, blob in conn.execute(stmt):
                    found[key] = np.frombuffer(blob, dtype="<f4")
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            fresh = embedder.embed([t for _, t in missing])
            rows = [
                {"embedder": embedder.name, "text_hash": k, "dims": int(v.shape[0]),
                 "vector": np.asarray(v, dtype="<f4").tobytes()}
                for (k, _), v in zip(missing, fresh, strict=True)
            ]  # fmt: skip
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table), rows)
            except IntegrityError:
                pass  # another replica stored the same vectors first; ours are equal
            found.update({k: v for (k, _), v in zip(missing, fresh, strict=True)})
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return normalise_rows(np.vstack([found[k] for k in keys]))

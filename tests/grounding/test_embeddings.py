"""Embedders: the OpenAI-compatible endpoint against a real local HTTP server replaying a
recorded response, the hashing baseline, configuration, and the embedding cache in the store."""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.models.test_openai import RecordingServer
from tether.core.errors import ErrorCode, TetherError
from tether.grounding.embeddings import (
    EmbeddingCache,
    HashEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    Vectors,
    embedder_from_env,
)
from tether.store.runs import RunStore

PAYLOAD = json.loads(
    (Path(__file__).parent / "payloads" / "openai_embeddings_babbage_similarity.json").read_text()
)
RECORDED = np.asarray(PAYLOAD["data"][0]["embedding"], dtype=np.float32)
KEY = "sk-embed-test-5d1e"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer()
    yield srv
    srv.close()


def many(vectors: list[list[float]], order: Sequence[int]) -> dict[str, Any]:
    """The recorded body shape with several embeddings, listed in `order`."""
    body: dict[str, Any] = copy.deepcopy(PAYLOAD)
    body["data"] = [{"object": "embedding", "index": i, "embedding": vectors[i]} for i in order]
    return body


def test_the_recorded_response_becomes_one_unit_vector(server: RecordingServer) -> None:
    server.reply(200, PAYLOAD)
    embedder = OpenAIEmbedder("text-similarity-babbage-001", server.base_url, KEY)
    vectors = embedder.embed(["The food was delicious and the waiter..."])
    assert vectors.shape == (1, 2048) and vectors.dtype == np.float32
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
    expected = RECORDED / np.linalg.norm(RECORDED)
    assert np.allclose(vectors[0], expected, atol=1e-6)
    sent = server.received[0]
    assert sent.path == "/v1/embeddings"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "model": "text-similarity-babbage-001",
        "input": ["The food was delicious and the waiter..."],
        "encoding_format": "float",
    }


def test_vectors_come_back_in_input_order_across_batches(server: RecordingServer) -> None:
    base = RECORDED.tolist()
    rows = [[v * (i + 1) if j == i else v for j, v in enumerate(base)] for i in range(3)]
    server.reply(200, many(rows[:2], [1, 0]))  # the endpoint lists them out of order
    server.reply(200, many([rows[2]], [0]))
    embedder = OpenAIEmbedder("m", server.base_url, batch_size=2, dimensions=2048)
    vectors = embedder.embed(["a", "b", "c"])
    assert [r.body["input"] for r in server.received] == [["a", "b"], ["c"]]
    assert server.received[0].body["dimensions"] == 2048
    assert "authorization" not in server.received[0].headers  # no key configured: none sent
    for i in range(3):
        expected = np.asarray(rows[i], dtype=np.float32)
        assert np.allclose(vectors[i], expected / np.linalg.norm(expected), atol=1e-6)


def test_base64_encoded_vectors_are_decoded(server: RecordingServer) -> None:
    body = copy.deepcopy(PAYLOAD)
    body["data"][0]["embedding"] = base64.b64encode(RECORDED.astype("<f4").tobytes()).decode()
    server.reply(200, body)
    vectors = OpenAIEmbedder("m", server.base_url).embed(["x"])
    assert np.allclose(vectors[0], RECORDED / np.linalg.norm(RECORDED), atol=1e-6)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ErrorCode.MODEL_AUTH_FAILED),
        (429, ErrorCode.MODEL_RATE_LIMITED),
        (400, ErrorCode.MODEL_BAD_REQUEST),
        (503, ErrorCode.MODEL_UNAVAILABLE),
    ],
)
def test_http_errors_map_to_model_codes_without_the_key(
    server: RecordingServer, status: int, code: ErrorCode
) -> None:
    server.reply(status, {"error": {"message": f"bad key {KEY}"}})
    with pytest.raises(TetherError) as caught:
        OpenAIEmbedder("m", server.base_url, KEY).embed(["x"])
    assert caught.value.code is code
    assert KEY not in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        {"data": []},
        {"data": [{"index": 3, "embedding": [0.1, 0.2]}]},
        {"data": [{"index": 0, "embedding": ["a", "b"]}]},
        {"data": [{"index": 0, "embedding": "@@not-base64@@"}]},
    ],
)
def test_malformed_bodies_are_bad_output(server: RecordingServer, body: Any) -> None:
    server.reply(200, body)
    with pytest.raises(TetherError) as caught:
        OpenAIEmbedder("m", server.base_url).embed(["x"])
    assert caught.value.code is ErrorCode.MODEL_BAD_OUTPUT


def test_a_slow_endpoint_times_out(server: RecordingServer) -> None:
    server.reply(200, PAYLOAD, delay_s=2.0)
    with pytest.raises(TetherError) as caught:
        OpenAIEmbedder("m", server.base_url, timeout_s=0.2).embed(["x"])
    assert caught.value.code is ErrorCode.MODEL_TIMEOUT


def test_an_unreachable_endpoint_is_unavailable() -> None:
    with pytest.raises(TetherError) as caught:
        OpenAIEmbedder("m", "http://127.0.0.1:9/v1", timeout_s=2.0).embed(["x"])
    assert caught.value.code is ErrorCode.MODEL_UNAVAILABLE


def test_hash_embedder_is_deterministic_and_relates_overlapping_texts() -> None:
    embedder = HashEmbedder(128)
    a, b, c = embedder.embed(["refund to credit card", "credit card refunds", "garden grill"])
    assert np.allclose(embedder.embed(["refund to credit card"])[0], a)
    assert float(a @ b) > 0.9 > float(a @ c)


def test_configuration_from_the_environment() -> None:
    assert embedder_from_env(environ={}) is None
    assert embedder_from_env("none", environ={}) is None
    hashed = embedder_from_env("hash:64", environ={})
    assert isinstance(hashed, HashEmbedder) and hashed.dims == 64
    env = {"TETHER_EMBEDDINGS": "openai:nomic-embed-text", "OPENAI_BASE_URL": "http://h:1/v1"}
    remote = embedder_from_env(environ=env)
    assert isinstance(remote, OpenAIEmbedder) and remote.url == "http://h:1/v1/embeddings"
    local = embedder_from_env("sentence-transformers:/models/mini", environ={})
    assert isinstance(local, SentenceTransformerEmbedder) and local.model == "/models/mini"
    for bad in ("word2vec:x", "openai:", "hash:many"):
        with pytest.raises(TetherError) as caught:
            embedder_from_env(bad, environ={})
        assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_sentence_transformers_is_imported_only_when_used() -> None:
    if importlib.util.find_spec("sentence_transformers") is not None:
        pytest.skip("sentence-transformers is installed here")
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")  # constructing loads nothing
    with pytest.raises(TetherError) as caught:
        embedder.embed(["x"])
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "pip install sentence-transformers" in caught.value.message


class CountingEmbedder:
    """The hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = HashEmbedder(32)
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_the_cache_embeds_each_text_once_per_embedder(store_url: str) -> None:
    store = RunStore.open(store_url)
    cache = EmbeddingCache(store.engine)
    counting = CountingEmbedder()
    first = cache.embed(counting, ["alpha beta", "gamma", "alpha beta"])
    again = cache.embed(counting, ["gamma", "delta", "alpha beta"])
    assert counting.texts == ["alpha beta", "gamma", "delta"]
    assert np.allclose(first[0], again[2]) and np.allclose(first[1], again[0])
    assert np.allclose(again, HashEmbedder(32).embed(["gamma", "delta", "alpha beta"]))
    store.close()

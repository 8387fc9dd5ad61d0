"""OpenAIModel and model_from_env against a real local HTTP server replaying recorded payloads.

The hosted model is the one part that cannot run here, so a ThreadingHTTPServer on
127.0.0.1 answers with response bodies recorded from real endpoints (see payloads/README.md).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Message, ToolCall, ToolSpec, TurnKind
from tether.models.base import ModelAdapter, ModelRequest
from tether.models.factory import DEFAULT_OPENAI_BASE_URL, model_from_env
from tether.models.openai import OpenAIModel
from tether.models.scripted import ScriptedModel

PAYLOADS = Path(__file__).parent / "payloads"
API_KEY = "sk-test-4f1c2a9e7b6d"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def encoded(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


@dataclass
class Reply:
    """What the server does with the next request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class RecordingServer:
    """A real HTTP server on an ephemeral port: plays planned replies, records requests."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                outer.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, _json(raw))
                )
                reply = outer.replies.pop(0) if outer.replies else Reply(599, b"no reply planned")
                if reply.drop:
                    return
                if reply.delay_s:
                    outer.stopping.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for name, value in {
                        "Content-Type": "application/json",
                        **reply.headers,
                    }.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, status: int = 200, body: Any = b"", **kwargs: Any) -> None:
        data = body if isinstance(body, bytes) else encoded(body)
        self.replies.append(Reply(status, data, **kwargs))

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer()
    yield srv
    srv.close()


@pytest.fixture
def model(server: RecordingServer) -> Iterator[OpenAIModel]:
    with OpenAIModel("gpt-4o-mini", server.base_url, API_KEY, timeout_s=5.0) as adapter:
        yield adapter


AGENT = Agent(name="support", instructions="You are a retail support desk.", tools=())
DELIVERY = ToolSpec(
    name="get_delivery_date",
    description="Get the delivery date for a customer's order.",
    input_schema={
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
    },
    output_schema={"type": "object"},
)


def ask(text: str = "Where is my package?", **kwargs: Any) -> ModelRequest:
    messages = (Message("user", text),)
    return ModelRequest(agent=AGENT, messages=messages, tools=(DELIVERY,), **kwargs)


def failure(adapter: ModelAdapter, request: ModelRequest | None = None) -> TetherError:
    with pytest.raises(TetherError) as caught:
        adapter.propose(request or ask())
    return caught.value


# --- the request -------------------------------------------------------------------------


def test_request_carries_messages_tools_and_bearer_key(
    server: RecordingServer, model: OpenAIModel
) -> None:
    server.reply(body=payload("openai_text_answer"))
    calls = (
        ToolCall("call_a", "get_delivery_date", {"order_id": "#W1"}),
        ToolCall("call_b", "get_delivery_date", {"order_id": "#W2", "note": "né"}),
    )
    history = (
        Message("system", "Answer only from evidence."),
        Message("user", "Where are my two orders?"),
        Message("assistant", "", tool_calls=calls),
        Message("tool", '{"date": "2024-05-01"}', tool_call_id="call_a"),
        Message("tool", '{"date": "2024-05-03"}', tool_call_id="call_b"),
    )
    model.propose(ModelRequest(agent=AGENT, messages=history, tools=(DELIVERY,)))

    (sent,) = server.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["content-type"] == "application/json"
    body = sent.body
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.0
    assert body["tool_choice"] == "auto"
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_delivery_date",
                "description": "Get the delivery date for a customer's order.",
                "parameters": dict(DELIVERY.input_schema),
            },
        }
    ]
    # The caller's system message stands; the agent's instructions are not added twice.
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert body["messages"][0] == {"role": "system", "content": "Answer only from evidence."}
    assistant = body["messages"][2]
    assert assistant["content"] is None
    wire_calls = assistant["tool_calls"]
    assert [c["id"] for c in wire_calls] == ["call_a", "call_b"]
    assert all(c["type"] == "function" for c in wire_calls)
    assert all(isinstance(c["function"]["arguments"], str) for c in wire_calls)
    assert json.loads(wire_calls[1]["function"]["arguments"]) == {"order_id": "#W2", "note": "né"}
    assert body["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_a",
        "content": '{"date": "2024-05-01"}',
    }
    assert body["messages"][4]["tool_call_id"] == "call_b"


def test_instructions_become_the_system_message_and_no_tools_means_no_tool_choice(
    server: RecordingServer,
) -> None:
    server.reply(body=payload("openai_text_answer"))
    adapter = OpenAIModel("m", server.base_url, None, temperature=None)
    adapter.propose(ModelRequest(agent=AGENT, messages=(Message("user", "hi"),), tools=()))
    adapter.close()
    body = server.received[0].body
    assert body["messages"] == [
        {"role": "system", "content": "You are a retail support desk."},
        {"role": "user", "content": "hi"},
    ]
    assert "tools" not in body and "tool_choice" not in body and "temperature" not in body
    assert "authorization" not in server.received[0].headers


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        (Message("developer", "x"), "role"),
        (Message("tool", "result"), "tool_call_id"),
    ],
)
def test_unsendable_messages_are_rejected_before_any_request(
    server: RecordingServer, model: OpenAIModel, message: Message, fragment: str
) -> None:
    err = failure(model, ModelRequest(agent=AGENT, messages=(message,), tools=()))
    assert err.code is ErrorCode.MODEL_BAD_REQUEST
    assert fragment in err.message
    assert server.received == []


def test_arguments_that_cannot_be_json_are_a_bad_request(
    server: RecordingServer, model: OpenAIModel
) -> None:
    bad = Message("assistant", "", tool_calls=(ToolCall("c1", "t", {"when": {1, 2}}),))
    err = failure(model, ModelRequest(agent=AGENT, messages=(bad,), tools=()))
    assert err.code is ErrorCode.MODEL_BAD_REQUEST
    assert server.received == []


# --- parsing recorded responses ----------------------------------------------------------


def test_text_answer(server: RecordingServer, model: OpenAIModel) -> None:
    recorded = payload("openai_text_answer")
    server.reply(body=recorded)
    turn = model.propose(ask())
    assert turn.kind is TurnKind.ANSWER
    assert turn.text == "The capital of England is London."
    assert turn.citations == ()
    assert turn.tool_calls == ()
    assert turn.model == "gpt-4o-mini-2024-07-18"
    assert turn.usage == {"prompt_tokens": 129, "completion_tokens": 8, "total_tokens": 137}
    assert turn.raw == recorded


def test_answer_citations_are_extracted(server: RecordingServer, model: OpenAIModel) -> None:
    cited = payload("openai_text_answer")
    cited["choices"][0]["message"]["content"] = (
        "Refunds go to the original payment method [kb:refunds#2], see also [kb:refunds#2] "
        "and order [tool:3]."
    )
    server.reply(body=cited)
    turn = model.propose(ask())
    assert turn.kind is TurnKind.ANSWER
    assert turn.citations == ("kb:refunds#2", "tool:3")


def test_one_tool_call_keeps_the_provider_id(server: RecordingServer, model: OpenAIModel) -> None:
    recorded = payload("openai_tool_call")
    server.reply(body=recorded)
    turn = model.propose(ask())
    assert turn.kind is TurnKind.TOOL_CALLS
    assert turn.tool_calls == (
        ToolCall("call_TZeQV35RVjT4iAuUXs85nmkt", "get_delivery_date", {"order_id": "order_12345"}),
    )
    assert turn.usage == {"prompt_tokens": 140, "completion_tokens": 19, "total_tokens": 159}
    assert turn.model == "gpt-4o-mini-2024-07-18"
    assert turn.raw == recorded


def test_ollama_tool_call_without_a_key(server: RecordingServer) -> None:
    server.reply(body=payload("ollama_tool_call"))
    with OpenAIModel("qwen2.5:0.5b", server.base_url, None) as adapter:
        turn = adapter.propose(ask())
    assert "authorization" not in server.received[0].headers
    assert turn.kind is TurnKind.TOOL_CALLS
    assert turn.text == ""
    assert turn.tool_calls == (
        ToolCall("call_ww759p36", "get_delivery_date", {"order_id": "order_12345"}),
    )
    assert turn.model == "qwen2.5:0.5b"


def test_parallel_tool_calls_keep_their_order(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(body=payload("openai_parallel_tool_calls"))
    turn = model.propose(ask())
    assert turn.kind is TurnKind.TOOL_CALLS
    assert [(c.id, c.name, dict(c.arguments)) for c in turn.tool_calls] == [
        ("call_EgULHWKqGjuB36aUeiOSpALZ", "get_weather", {"location": "San Francisco"}),
        ("call_Xer9QGOTDMG2Bxn9AKGiVM14", "get_news", {"location": "San Francisco"}),
    ]
    assert turn.usage == {"prompt_tokens": 67, "completion_tokens": 47, "total_tokens": 114}


def test_refusal(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(body=payload("openai_refusal"))
    turn = model.propose(ask())
    assert turn.kind is TurnKind.REFUSAL
    assert turn.text == "I'm sorry, I cannot assist with that request."
    assert turn.model == "gpt-4o-2024-08-06"
    assert turn.usage == {"prompt_tokens": 81, "completion_tokens": 11, "total_tokens": 92}


def test_a_call_without_an_id_gets_a_turn_scoped_one(
    server: RecordingServer, model: OpenAIModel
) -> None:
    variant = payload("openai_parallel_tool_calls")
    for call in variant["choices"][0]["message"]["tool_calls"]:
        del call["id"]
    server.reply(body=variant)
    turn = model.propose(ask(turn=4))
    assert [c.id for c in turn.tool_calls] == ["call_4_0", "call_4_1"]


def _variant(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(payload("openai_tool_call"))
    mutate(data)
    return data


def _set_args(value: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = value

    return mutate


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
        (b"[]", "not a JSON object"),
        (encoded(_variant(lambda d: d.update(choices=[]))), "no choices"),
        (encoded(_variant(lambda d: d.pop("choices"))), "no choices"),
        (encoded(_variant(lambda d: d["choices"][0].pop("message"))), "no message"),
        (
            encoded(_variant(lambda d: d["choices"][0]["message"].update(tool_calls=None))),
            "neither content nor tool calls",
        ),
        (encoded(_variant(_set_args('{"order_id":"order_1'))), "not JSON"),
        (encoded(_variant(_set_args('["order_12345"]'))), "not an object"),
        (
            encoded(
                _variant(lambda d: d["choices"][0]["message"]["tool_calls"][0].pop("function"))
            ),
            "no function",
        ),
    ],
)
def test_unusable_bodies_are_bad_output(
    server: RecordingServer, model: OpenAIModel, body: bytes, fragment: str
) -> None:
    server.reply(body=body)
    err = failure(model)
    assert err.code is ErrorCode.MODEL_BAD_OUTPUT
    assert fragment in err.message


# --- HTTP errors and transport failures --------------------------------------------------


def test_429_is_rate_limited_with_retry_after(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(429, payload("error_429_rate_limit"), headers={"Retry-After": "27"})
    err = failure(model)
    assert err.code is ErrorCode.MODEL_RATE_LIMITED
    assert err.code.retryable
    assert "Rate limit reached for gpt-4" in err.message
    assert err.details["status"] == 429
    assert err.details["retry_after"] == "27"
    assert err.details["retry_after_s"] == 27.0
    assert err.details["provider_code"] == "rate_limit_exceeded"


def test_429_without_retry_after(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(429, payload("error_429_rate_limit"))
    err = failure(model)
    assert err.code is ErrorCode.MODEL_RATE_LIMITED
    assert "retry_after" not in err.details


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_never_echo_the_key(server: RecordingServer, status: int) -> None:
    # The recorded 401 body repeats the key the client sent ("DEADBEEF").
    server.reply(status, payload("error_401_invalid_api_key"))
    with OpenAIModel("gpt-4o-mini", server.base_url, "DEADBEEF") as adapter:
        err = failure(adapter)
    assert server.received[0].headers["authorization"] == "Bearer DEADBEEF"
    assert err.code is ErrorCode.MODEL_AUTH_FAILED
    assert "Incorrect API key provided" in err.message
    assert "DEADBEEF" not in str(err)
    assert "DEADBEEF" not in json.dumps(err.to_dict())
    assert err.details["provider_code"] == "invalid_api_key"


def test_400_is_a_bad_request_with_the_provider_message(
    server: RecordingServer, model: OpenAIModel
) -> None:
    server.reply(400, payload("error_400_context_length"))
    err = failure(model)
    assert err.code is ErrorCode.MODEL_BAD_REQUEST
    assert "maximum context length is 4097 tokens" in err.message
    assert err.details["provider_code"] == "context_length_exceeded"
    assert err.details["provider_param"] == "messages"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable(server: RecordingServer, model: OpenAIModel, status: int) -> None:
    server.reply(status, b"upstream connect error", headers={"Content-Type": "text/plain"})
    err = failure(model)
    assert err.code is ErrorCode.MODEL_UNAVAILABLE
    assert err.details["status"] == status
    assert "upstream connect error" in err.message


def test_a_slow_endpoint_times_out(server: RecordingServer) -> None:
    server.reply(body=payload("openai_text_answer"), delay_s=3.0)
    with OpenAIModel("gpt-4o-mini", server.base_url, API_KEY, timeout_s=0.3) as adapter:
        started = time.monotonic()
        err = failure(adapter)
        elapsed = time.monotonic() - started
    assert err.code is ErrorCode.MODEL_TIMEOUT
    assert elapsed < 2.0
    assert API_KEY not in str(err)


def test_a_dropped_connection_is_unavailable(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(drop=True)
    err = failure(model)
    assert err.code is ErrorCode.MODEL_UNAVAILABLE
    assert API_KEY not in str(err)


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with OpenAIModel("m", f"http://127.0.0.1:{port}/v1", API_KEY, timeout_s=2.0) as adapter:
        err = failure(adapter)
    assert err.code is ErrorCode.MODEL_UNAVAILABLE
    assert API_KEY not in str(err)


def test_the_adapter_does_not_retry(server: RecordingServer, model: OpenAIModel) -> None:
    server.reply(503, b"busy")
    server.reply(body=payload("openai_text_answer"))
    assert failure(model).code is ErrorCode.MODEL_UNAVAILABLE
    assert len(server.received) == 1


# --- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": " "}, "model"),
        ({"base_url": "localhost:8000"}, "base URL"),
        ({"base_url": "ftp://models.example/v1"}, "base URL"),
        ({"base_url": "http://"}, "base URL"),
        ({"timeout_s": 0}, "timeout"),
        ({"timeout_s": float("inf")}, "timeout"),
    ],
)
def test_invalid_settings(kwargs: dict[str, Any], fragment: str) -> None:
    settings: dict[str, Any] = {"model": "m", "base_url": "http://127.0.0.1:1/v1", "api_key": None}
    with pytest.raises(TetherError) as caught:
        OpenAIModel(**{**settings, **kwargs})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert fragment in caught.value.message


def test_endpoint_joins_the_base_url() -> None:
    with OpenAIModel("m", "http://127.0.0.1:8000/v1/", None) as adapter:
        assert adapter.endpoint == "http://127.0.0.1:8000/v1/chat/completions"
        assert adapter.name == "openai:m"


def test_an_injected_client_is_used_and_left_open(server: RecordingServer) -> None:
    server.reply(body=payload("openai_text_answer"))
    client = httpx.Client(headers={"X-Trace": "t-1"})
    adapter = OpenAIModel("m", server.base_url, None, client=client)
    adapter.propose(ask())
    adapter.close()
    assert not client.is_closed
    assert server.received[0].headers["x-trace"] == "t-1"
    client.close()


# --- model_from_env ----------------------------------------------------------------------


def test_factory_openai_prefers_tether_variables(server: RecordingServer) -> None:
    server.reply(body=payload("openai_tool_call"))
    env = {
        "TETHER_MODEL": "openai:gpt-4o-mini",
        "TETHER_OPENAI_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "TETHER_OPENAI_API_KEY": "tether-key",
        "OPENAI_API_KEY": "generic-key",
        "TETHER_MODEL_TIMEOUT": "12.5",
    }
    adapter = model_from_env(environ=env)
    assert isinstance(adapter, OpenAIModel)
    assert adapter.name == "openai:gpt-4o-mini"
    assert adapter.timeout_s == 12.5
    assert adapter.propose(ask()).kind is TurnKind.TOOL_CALLS
    adapter.close()
    assert server.received[0].headers["authorization"] == "Bearer tether-key"
    assert server.received[0].body["model"] == "gpt-4o-mini"


def test_factory_openai_falls_back_to_openai_variables(server: RecordingServer) -> None:
    server.reply(body=payload("openai_text_answer"))
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "generic-key", "TETHER_MODEL": ""}
    adapter = model_from_env("openai:gpt-4o-mini", environ=env)
    assert isinstance(adapter, OpenAIModel)
    assert adapter.propose(ask()).kind is TurnKind.ANSWER
    adapter.close()
    assert server.received[0].headers["authorization"] == "Bearer generic-key"


def test_factory_openai_defaults_and_no_key() -> None:
    adapter = model_from_env("openai:gpt-4o-mini", environ={"TETHER_OPENAI_API_KEY": "  "})
    assert isinstance(adapter, OpenAIModel)
    assert adapter.endpoint == f"{DEFAULT_OPENAI_BASE_URL}/chat/completions"
    assert adapter.timeout_s == 60.0
    adapter.close()


def test_factory_timeout_applies(server: RecordingServer) -> None:
    server.reply(body=payload("openai_text_answer"), delay_s=3.0)
    env = {"TETHER_OPENAI_BASE_URL": server.base_url, "TETHER_MODEL_TIMEOUT": "0.3"}
    adapter = model_from_env("openai:m", environ=env)
    assert isinstance(adapter, OpenAIModel)
    assert failure(adapter).code is ErrorCode.MODEL_TIMEOUT
    adapter.close()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e999"])
def test_factory_rejects_bad_timeouts(value: str) -> None:
    with pytest.raises(TetherError) as caught:
        model_from_env("openai:m", environ={"TETHER_MODEL_TIMEOUT": value})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "TETHER_MODEL_TIMEOUT" in caught.value.message


def test_factory_rejects_a_bad_base_url() -> None:
    with pytest.raises(TetherError) as caught:
        model_from_env("openai:m", environ={"TETHER_OPENAI_BASE_URL": "localhost:11434/v1"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize("env", [{}, {"TETHER_MODEL": ""}, {"TETHER_MODEL": "   "}])
def test_factory_without_a_model(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_MODEL", "openai:from-the-process")  # must not be read
    with pytest.raises(TetherError) as caught:
        model_from_env(environ=env)
    assert caught.value.code is ErrorCode.MODEL_NOT_CONFIGURED
    assert "openai:<model>" in caught.value.message
    assert "scripted:<path>" in caught.value.message


def test_factory_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_MODEL", "openai:gpt-4o-mini")
    monkeypatch.delenv("TETHER_OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    adapter = model_from_env()
    assert isinstance(adapter, OpenAIModel)
    assert adapter.endpoint == "http://127.0.0.1:8000/v1/chat/completions"
    adapter.close()


@pytest.mark.parametrize("spec", ["anthropic:claude", "openai", "openai:", "scripted:  ", "gpt-4o"])
def test_factory_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(TetherError) as caught:
        model_from_env(spec, environ={})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_factory_scripted(tmp_path: Path) -> None:
    script = tmp_path / "demo.yaml"
    script.write_text("- tool: get_delivery_date\n  args: {order_id: '#W1'}\n- answer: Done.\n")
    adapter = model_from_env(f"scripted:{script}", environ={})
    assert isinstance(adapter, ScriptedModel)
    first = adapter.propose(ask(turn=0))
    assert first.tool_calls == (ToolCall("call_0_0", "get_delivery_date", {"order_id": "#W1"}),)
    assert adapter.propose(ask(turn=1)).text == "Done."


def test_factory_scripted_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TetherError) as caught:
        model_from_env(f"scripted:{tmp_path / 'absent.yaml'}", environ={})
    assert caught.value.code is ErrorCode.SCENARIO_INVALID

"""The OpenAI-compatible adapter: any chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp).

One `propose` is one POST to `{base_url}/chat/completions`. Every failure becomes a
TetherError with a MODEL_* code; the adapter never retries (retry is the caller's policy)
and never puts the API key into an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import REFERENCE_ROLE, Message, ModelTurn, ToolCall, ToolSpec, TurnKind
from tether.models.base import ModelRequest, extract_citations

_ROLES = frozenset({"system", "user", "assistant", "tool", REFERENCE_ROLE})
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_MAX_PROVIDER_MESSAGE = 500
_REDACTED = "[redacted]"


def message_to_wire(message: Message) -> dict[str, Any]:
    """One tether Message in the chat-completions wire shape."""
    if message.role not in _ROLES:
        raise TetherError(
            ErrorCode.MODEL_BAD_REQUEST, f"message role {message.role!r} is not supported"
        )
    if message.role == "tool":
        if not message.tool_call_id:
            raise TetherError(ErrorCode.MODEL_BAD_REQUEST, "a tool message needs a tool_call_id")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == REFERENCE_ROLE:
        # retrieved passages: never system text; user-side, delimited and marked as data
        return {"role": "user", "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            # The API wants null, not "", beside tool calls.
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def tool_to_wire(spec: ToolSpec) -> dict[str, Any]:
    """One tool spec as a chat-completions function tool."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": dict(spec.input_schema),
        },
    }


class OpenAIModel:
    """A ModelAdapter over an OpenAI-compatible chat-completions endpoint (synchronous httpx)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout_s: float = 60.0,
        client: httpx.Client | None = None,
        temperature: float | None = 0.0,
    ) -> None:
        if not model.strip():
            raise TetherError(ErrorCode.CONFIG_INVALID, "the model name is empty")
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s) and timeout_s > 0):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"timeout must be > 0 s, got {timeout_s!r}")
        self._url = _endpoint(base_url)
        self._model = model.strip()
        self._api_key = api_key or None
        self._timeout_s = float(timeout_s)
        self._temperature = temperature
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout_s)

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    @property
    def endpoint(self) -> str:
        """The full chat-completions URL requests go to."""
        return self._url

    @property
    def timeout_s(self) -> float:
        """The per-request timeout, in seconds."""
        return self._timeout_s

    def close(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAIModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body `propose` sends for this request."""
        messages = [message_to_wire(m) for m in request.messages]
        instructions = request.agent.instructions.strip()
        # The agent's instructions go first unless the caller already put a system message in.
        if instructions and not any(m.role == "system" for m in request.messages):
            messages.insert(0, {"role": "system", "content": instructions})
        body: dict[str, Any] = {"model": self._model, "messages": messages}
        if request.tools:
            body["tools"] = [tool_to_wire(t) for t in request.tools]
            body["tool_choice"] = "auto"
        if self._temperature is not None:
            body["temperature"] = self._temperature
        return body

    def propose(self, request: ModelRequest) -> ModelTurn:
        """One chat-completions call; failures raise TetherError with a MODEL_* code."""
        try:
            return self._propose(request)
        except TetherError as exc:
            raise self._scrub(exc) from None

    def _propose(self, request: ModelRequest) -> ModelTurn:
        try:
            payload = json.dumps(self.request_body(request)).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise TetherError(
                ErrorCode.MODEL_BAD_REQUEST, f"the request cannot be encoded as JSON: {exc}"
            ) from None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            response = self._client.post(
                self._url, content=payload, headers=headers, timeout=self._timeout_s
            )
        except httpx.TimeoutException:
            raise TetherError(
                ErrorCode.MODEL_TIMEOUT,
                f"the model endpoint did not answer within {self._timeout_s:g} s",
                {"url": self._url, "timeout_s": self._timeout_s},
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise TetherError(
                ErrorCode.MODEL_UNAVAILABLE,
                f"cannot reach the model endpoint: {type(exc).__name__}: {exc}",
                {"url": self._url},
            ) from None
        if not 200 <= response.status_code < 300:
            raise self._status_error(response)
        return self._parse(response, request.turn)

    def _status_error(self, response: httpx.Response) -> TetherError:
        status = response.status_code
        provider = _provider_error(response)
        text = provider.get("message") or response.reason_phrase or "no detail"
        details: dict[str, Any] = {"status": status, "url": self._url}
        details.update({k: v for k, v in provider.items() if k != "message"})
        details["provider_message"] = text
        summary = f"the model endpoint answered HTTP {status}: {text}"
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            if retry_after is not None:
                details["retry_after"] = retry_after
                seconds = _as_seconds(retry_after)
                if seconds is not None:
                    details["retry_after_s"] = seconds
            return TetherError(ErrorCode.MODEL_RATE_LIMITED, summary, details)
        if status in (401, 403):
            return TetherError(ErrorCode.MODEL_AUTH_FAILED, summary, details)
        if 400 <= status < 500:
            return TetherError(ErrorCode.MODEL_BAD_REQUEST, summary, details)
        # 5xx, and redirects this client does not follow: the endpoint is not usable now.
        return TetherError(ErrorCode.MODEL_UNAVAILABLE, summary, details)

    def _parse(self, response: httpx.Response, turn: int) -> ModelTurn:
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise _bad_output("the response body is not JSON", response.text[:200]) from None
        if not isinstance(data, dict):
            raise _bad_output("the response body is not a JSON object")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise _bad_output("the response has no choices")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise _bad_output("the first choice has no message")
        reported = data.get("model")
        model = reported if isinstance(reported, str) and reported else self._model
        usage = _usage(data.get("usage"))
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise _bad_output("the message content is not a string")
        raw_calls = message.get("tool_calls")
        if raw_calls:
            if not isinstance(raw_calls, list):
                raise _bad_output("tool_calls is not a list")
            calls = tuple(_tool_call(c, turn, i) for i, c in enumerate(raw_calls))
            return ModelTurn(
                TurnKind.TOOL_CALLS,
                text=content or "",
                tool_calls=calls,
                model=model,
                usage=usage,
                raw=data,
            )
        refusal = message.get("refusal")
        if refusal is not None and refusal != "":
            text = refusal if isinstance(refusal, str) else json.dumps(refusal)
            return ModelTurn(TurnKind.REFUSAL, text=text, model=model, usage=usage, raw=data)
        if content is None or not content.strip():
            raise _bad_output("the message has neither content nor tool calls")
        return ModelTurn(
            TurnKind.ANSWER,
            text=content,
            citations=extract_citations(content),
            model=model,
            usage=usage,
            raw=data,
        )

    def _scrub(self, exc: TetherError) -> TetherError:
        """The same error with every occurrence of the API key masked (providers echo keys)."""
        key = self._api_key
        if not key:
            return exc

        def mask(value: Any) -> Any:
            return value.replace(key, _REDACTED) if isinstance(value, str) else value

        details = {k: mask(v) for k, v in exc.details.items()}
        return TetherError(exc.code, mask(exc.message), details)


def _endpoint(base_url: str) -> str:
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"invalid base URL {base_url!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"base URL must be http(s)://host[/path], got {base_url!r}"
        )
    return str(url).rstrip("/") + "/chat/completions"


def _tool_call(item: Any, turn: int, index: int) -> ToolCall:
    function = item.get("function") if isinstance(item, dict) else None
    if not isinstance(function, dict):
        raise _bad_output(f"tool call {index + 1} has no function")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _bad_output(f"tool call {index + 1} has no function name")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        # Some compatible servers send "" for a call without arguments.
        if not arguments.strip():
            arguments = "{}"
        try:
            parsed = json.loads(arguments)
        except ValueError:
            raise _bad_output(
                f"tool call {index + 1} ({name}) has arguments that are not JSON", arguments[:200]
            ) from None
    else:
        parsed = {} if arguments is None else arguments
    if not isinstance(parsed, dict):
        raise _bad_output(f"tool call {index + 1} ({name}) has arguments that are not an object")
    call_id = item.get("id")
    # Some compatible servers omit ids; a turn-scoped id keeps tool results matchable.
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{turn}_{index}"
    return ToolCall(call_id, name, parsed)


def _usage(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {
        key: value[key]
        for key in _USAGE_KEYS
        if isinstance(value.get(key), int) and not isinstance(value.get(key), bool)
    }


def _provider_error(response: httpx.Response) -> dict[str, str]:
    """message / type / code / param from the usual error body shapes, when present."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return {"message": text[:_MAX_PROVIDER_MESSAGE]} if text else {}
    if not isinstance(body, dict):
        return {}
    error = body.get("error", body)
    if isinstance(error, str):
        # e.g. {"error": "model not found"} (Ollama) or {"error": "...", "message": ...}
        error = {"message": error}
    if not isinstance(error, dict):
        return {}
    out: dict[str, str] = {}
    message = error.get("message", error.get("detail", body.get("message")))
    if message is not None:
        out["message"] = (message if isinstance(message, str) else json.dumps(message))[
            :_MAX_PROVIDER_MESSAGE
        ]
    for key in ("type", "code", "param"):
        if error.get(key) is not None:
            out[f"provider_{key}"] = str(error[key])
    return out


def _as_seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _bad_output(message: str, excerpt: str | None = None) -> TetherError:
    details = {"excerpt": excerpt} if excerpt else {}
    return TetherError(ErrorCode.MODEL_BAD_OUTPUT, message, details)

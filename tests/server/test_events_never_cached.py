"""The events stream of a run carries its steps (customer messages, tool output with addresses
and orders): like every other response but the stylesheet it says `Cache-Control: no-store`
(README, *Operator dashboard*), not the `no-cache` SSE examples use, which lets a cache keep it."""

from __future__ import annotations

import httpx

from tests.server.conftest import order_run_body


def test_the_events_stream_is_never_stored_by_a_cache(client: httpx.Client) -> None:
    started = client.post("/v1/runs?wait=10", json=order_run_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["id"]
    with client.stream("GET", f"/v1/runs/{run_id}/events") as stream:
        assert stream.status_code == 200
        body = "".join(stream.iter_text())
        cache_control = stream.headers.get("cache-control", "")
    assert "raj.sanchez2046@example.com" in body  # customer data is in the stream
    directives = {d.strip().lower() for d in cache_control.split(",")}
    assert "no-store" in directives, cache_control

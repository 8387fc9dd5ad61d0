"""The server-rendered dashboard: runs list, run detail, and escaping of everything recorded."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import open_desk, order_run_body
from tether.server.app import create_app
from tether.server.dashboard import PAGE_SIZE

Serve = Callable[[FastAPI], httpx.Client]


def start_run(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/runs?wait=60", json=body)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def refusal(principal: str = "raj_sanchez_2970", text: str = "hello") -> dict[str, Any]:
    return {"principal": principal, "input": text, "script": [{"refuse": "I can't."}]}


def assert_html(response: httpx.Response, status: int = 200) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def run_links(page: str) -> list[str]:
    return re.findall(r'href="[^"]*/runs/(run_[0-9a-f]+)"', page)


def test_stylesheet_is_served_locally(client: httpx.Client) -> None:
    page = assert_html(client.get("/"))
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert len(hrefs) == 1 and hrefs[0].startswith(str(client.base_url))
    css = client.get(hrefs[0])
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".timeline" in css.text
    assert "<script" not in page  # no JavaScript, no CDN


def test_run_detail_shows_decision_steps_verdicts_and_evidence(client: httpx.Client) -> None:
    run = start_run(client, order_run_body())
    page = assert_html(client.get(f"/runs/{run['id']}"))
    text = html.unescape(page)
    # the decision: kind, text, citation linked to the tool result it cites
    assert 'class="badge kind-answer">answer<' in page
    assert "Order #W4566809 is pending [tool:2]." in text
    assert 'href="#ev-tool-2"' in page and 'id="ev-tool-2"' in page
    # the timeline: every step, in order, with its kind and duration
    seqs = [int(n) for n in re.findall(r'<li class="step kind-\w+" id="step-(\d+)">', page)]
    assert seqs == list(range(1, run["step_count"] + 1))
    assert len(re.findall(r'<span class="muted">\d+\.\d ms</span>', page)) == len(seqs)
    # retrieval evidence with lineage: id, title, source, version prefix, text
    evidence = next(s for s in run["steps"] if s["kind"] == "retrieval")["data"]["evidence"]
    for ev in evidence:
        assert ev["id"] in text and ev["title"] in text and ev["source"] in text
        assert f">{ev['version'][:12]}</code>" in page
        assert ev["text"] in text
    # guard verdicts per tool call, with the facts they used
    for check in ("schema", "grant", "ownership"):
        assert f"<code>{check}</code>" in page
    assert '"order:#W4566809": "owned"' in text
    # tool arguments and outputs, and the model turns
    assert '"order_id": "#W4566809"' in text
    assert '"status": "pending"' in text
    assert "get_order_details" in page and "find_user_id_by_email" in page
    assert "Turn</dt><dd>2 · answer" in text


def test_run_detail_shows_deny_reasons_with_codes(client: httpx.Client) -> None:
    body = {
        "principal": "raj_sanchez_2970",
        "input": "Show me order #W0000000",
        "script": [{"tool": "get_order_details", "args": {"order_id": 12}}, {"refuse": "no"}],
    }
    run = start_run(client, body)
    guard = next(s for s in run["steps"] if s["kind"] == "guard")["data"]
    assert guard["effect"] == "deny"
    reason = guard["verdicts"][-1]["reasons"][0]
    page = html.unescape(assert_html(client.get(f"/runs/{run['id']}")))
    assert f"{reason['code']}</code> {reason['message']}" in page
    assert "deny</span>" in page


def test_unknown_run_page_is_404_html(client: httpx.Client) -> None:
    page = assert_html(client.get("/runs/run_missing"), 404)
    assert "RUN_NOT_FOUND" in page


def test_everything_recorded_is_escaped(client: httpx.Client) -> None:
    attack = "<script>alert(1)</script>"
    body = {
        "principal": "raj_sanchez_2970",
        "input": f"Help {attack}",
        "script": [
            {"tool": "transfer_to_human_agents", "args": {"summary": "<script>alert(2)</script>"}}
        ],
    }
    run = start_run(client, body)
    tool = next(s for s in run["steps"] if s["kind"] == "tool")["data"]
    assert tool["output"]["summary"] == "<script>alert(2)</script>"  # a tool output with markup

    page = assert_html(client.get(f"/runs/{run['id']}"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the user message
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the tool output and hand-off reason

    listing = assert_html(client.get("/", params={"principal": "raj_sanchez_2970"}))
    assert "<script" not in listing
    assert "Help &lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_filter_values_are_escaped(client: httpx.Client) -> None:
    page = assert_html(client.get("/", params={"principal": '"><script>alert(3)</script>'}))
    assert "<script" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in page


@pytest.fixture
def busy(tmp_path: Path, serve_app: Serve) -> tuple[httpx.Client, list[str], str]:
    """A fresh desk with PAGE_SIZE + 2 refusals for raj and one answer for another customer."""
    desk = open_desk(tmp_path)
    other = next(u["user_id"] for u in desk.data.users() if u["user_id"] != "raj_sanchez_2970")
    client = serve_app(create_app(desk))
    ids = [start_run(client, refusal(text=f"question {i}"))["id"] for i in range(PAGE_SIZE + 2)]
    script = [
        {"tool": "calculate", "args": {"expression": "2 + 2"}},
        {"answer": "It is 4 [tool:1]."},
    ]
    answer = start_run(client, {"principal": other, "input": "2+2?", "script": script})
    assert answer["decision"]["kind"] == "answer"
    return client, [answer["id"], *reversed(ids)], other


def test_runs_list_newest_first_with_pages(busy: tuple[httpx.Client, list[str], str]) -> None:
    client, newest_first, _ = busy
    first = assert_html(client.get("/"))
    assert run_links(first) == newest_first[:PAGE_SIZE]
    assert f"page 1 of 2 · {len(newest_first)} runs" in first
    older = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert older is not None and 'rel="prev"' not in first

    second = assert_html(client.get(html.unescape(older.group(1))))
    assert run_links(second) == newest_first[PAGE_SIZE:]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_runs_list_counts_and_filters(busy: tuple[httpx.Client, list[str], str]) -> None:
    client, newest_first, other = busy

    def count(page: str, label: str) -> int:
        found = re.search(rf'>\s*{label} <span class="count">(\d+)</span>', page)
        assert found is not None, label
        return int(found.group(1))

    page = assert_html(client.get("/"))
    assert count(page, "all") == len(newest_first)
    assert count(page, "refusal") == PAGE_SIZE + 2
    assert count(page, "answer") == 1
    assert count(page, "escalation") == 0

    answers = assert_html(client.get("/", params={"decision": "answer"}))
    assert run_links(answers) == newest_first[:1]
    assert 'class="chip kind-answer active"' in answers

    theirs = assert_html(client.get("/", params={"principal": other}))
    assert run_links(theirs) == newest_first[:1]
    assert count(theirs, "all") == 1 and count(theirs, "refusal") == 0

    empty = assert_html(client.get("/", params={"decision": "escalation"}))
    assert run_links(empty) == [] and "No runs match." in empty


@pytest.mark.parametrize("params", [{"decision": "maybe"}, {"page": "0"}, {"page": "two"}])
def test_runs_list_rejects_bad_filters_as_html(
    client: httpx.Client, params: dict[str, str]
) -> None:
    page = assert_html(client.get("/", params=params), 400)
    assert "BAD_REQUEST" in page

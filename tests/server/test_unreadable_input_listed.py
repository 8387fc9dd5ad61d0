"""README, *HTTP API*: a run whose stored input this version cannot read (edited by hand, or
written by a later version) is listed as `unknown` with `"decision": null`, and the other runs
are listed as ever. Input that is JSON but not an object (`null`, a list, a string) is such
input, like text that is not JSON at all: the store reads it as unknown instead of handing it
on, where every list that holds the run, and the run itself, answered 500 INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.edited_runs import two_runs_one_edited


@pytest.mark.parametrize("stored", ["null", "[]", '"a later version\'s input"'])
def test_a_run_whose_input_is_not_an_object_is_unknown_and_hides_no_other(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], stored: str
) -> None:
    client, odd, fine = two_runs_one_edited(tmp_path, serve_app, input=stored)

    listed = client.get("/v1/runs")
    assert listed.status_code == 200, listed.text
    assert {r["id"] for r in listed.json()["runs"]} == {odd, fine}

    one = client.get(f"/v1/runs/{odd}")
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "unknown" and one.json()["decision"] is None

    page = client.get("/")  # the dashboard's runs list
    assert page.status_code == 200, page.text[:500]
    assert fine in page.text

"""The blind probe sets' draw is written down: benchmarks/draw_probe_sources.py draws every
recorded set's sources again from its seed, and a neighbouring seed draws something else."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "draw_probe_sources.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tether_draw_probe_sources", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DRAW = _script()


@pytest.mark.parametrize(("name", "seed"), sorted(DRAW.DRAWN.items()))
def test_each_recorded_set_is_what_its_seed_draws(name: str, seed: int) -> None:
    before = f"dev{int(name[3:]) - 1}"
    assert DRAW.matches(name, DRAW.draw(seed, before))
    assert not DRAW.matches(name, DRAW.draw(seed + 100, before))


def test_a_new_draw_leaves_out_every_set_and_the_held_out_half() -> None:
    drawn = DRAW.draw(20261255, "dev53")
    ids = {f"order-{o[1:]}" for o in drawn["orders"]} | {f"user-{drawn['user']}"}
    for name in [*DRAW.FIRST, *(f"dev{n}" for n in range(4, 54)), "heldout"]:
        assert not ids & DRAW.source_ids(name), name
    # every product is some set's by now: the held-out half's and the last ten sets' are still
    # left out
    for name in [*(f"dev{n}" for n in range(44, 54)), "heldout"]:
        assert f"product-{drawn['product']}" not in DRAW.source_ids(name), name
    assert not set(drawn["sections"]) & DRAW.sections_of("heldout")


def test_a_product_no_set_uses_is_drawn_while_one_is_left() -> None:
    drawn = DRAW.draw(20261245, "dev43")
    for name in [*DRAW.FIRST, *(f"dev{n}" for n in range(4, 44)), "heldout"]:
        assert f"product-{drawn['product']}" not in DRAW.source_ids(name), name


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "give --seed N and --after devN"), (["--seed", "1", "--after", "dev99"], "no probe set")],
)
def test_bad_arguments_get_one_line(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr

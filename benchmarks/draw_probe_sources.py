"""Draw the sources of a new blind retail probe set, as dev9 to dev53 were drawn.

    PYTHONPATH=src .venv/bin/python benchmarks/draw_probe_sources.py --seed 20261255 --after dev53
    PYTHONPATH=src .venv/bin/python benchmarks/draw_probe_sources.py --check

A set's sources are four orders of at most three items, one account with at most three payment
methods and one product, none a source of `dev/` to the `--after` set or of the held-out half,
and four kb sections from those the held-out half does not use. Once every product is some
set's (after dev45), the product is drawn from those neither the held-out half nor the last ten
sets use. The candidates are sorted and
drawn with `random.Random(seed)`: `sample` the orders, `choice` the account, `choice` the
product, `sample` the sections, in that order. The held-out half is read only to leave its
sources and sections out; nothing of it is printed. `--check` draws every recorded set again
from its seed and says whether each drew what it holds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "src" / "tether" / "domains" / "retail"
PROBES = RETAIL / "data" / "grounding_probes"
FIRST = ("dev", "dev2", "dev3")  # written before sets were drawn by seed
# the sets drawn by seed this way, each with its seed
DRAWN = {f"dev{n}": 20261201 + n for n in range(9, 54)}
_PASSAGE = re.compile(r"^passage \d+: ", flags=re.MULTILINE)
_HEADING = re.compile(r"^#+ ", flags=re.MULTILINE)


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def _records(name: str, task: str) -> list[dict[str, Any]]:
    path = PROBES / name / f"{task}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def source_ids(name: str) -> set[str]:
    return {r["source_id"] for task in ("qa", "data2txt") for r in _records(name, task)}


def sections_of(name: str) -> set[str]:
    """The kb sections a set's qa passages quote, whitespace squeezed."""
    return {
        _squeezed(part)
        for r in _records(name, "qa")
        for part in _PASSAGE.split(r["source"]["passages"])[1:]
    }


def public_sections() -> list[str]:
    """Every section of the public kb articles, heading and body, in file and section order."""
    out: list[str] = []
    for path in sorted((RETAIL / "kb").glob("*.md")):
        text = path.read_text()
        if "acl: [public]" not in text:
            continue
        for part in _HEADING.split(text.split("---", 2)[2])[1:]:
            head, _, rest = part.partition("\n")
            out.append(_squeezed(head.strip() + " " + rest))
    return out


def draw(seed: int, after: str) -> dict[str, Any]:
    """The sources a set drawn with `seed` after the set `after` gets."""
    number = int(after.removeprefix("dev") or 1)
    earlier = [*FIRST, *(f"dev{n}" for n in range(4, number + 1))]
    taken = set().union(*(source_ids(name) for name in [*earlier, "heldout"]))
    db = json.loads(gzip.decompress((RETAIL / "data" / "db.json.gz").read_bytes()))
    orders = sorted(
        k for k, v in db["orders"].items() if len(v["items"]) <= 3 and f"order-{k[1:]}" not in taken
    )
    users = sorted(
        k
        for k, v in db["users"].items()
        if len(v["payment_methods"]) <= 3 and f"user-{k}" not in taken
    )
    products = sorted(k for k in db["products"] if f"product-{k}" not in taken)
    if not products:
        # every product is some set's source (true from dev46 on): the product is drawn from
        # those neither the held-out half nor the last ten sets use
        shunned = set().union(*(source_ids(name) for name in [*earlier[-10:], "heldout"]))
        products = sorted(k for k in db["products"] if f"product-{k}" not in shunned)
    held = sections_of("heldout")
    pool = [s for s in public_sections() if s not in held]
    rng = random.Random(seed)
    return {
        "orders": rng.sample(orders, 4),
        "user": rng.choice(users),
        "product": rng.choice(products),
        "sections": rng.sample(pool, 4),
    }


def matches(name: str, drawn: dict[str, Any]) -> bool:
    """Whether a recorded set holds what was drawn for it."""
    ids = {f"order-{o[1:]}" for o in drawn["orders"]}
    ids |= {f"user-{drawn['user']}", f"product-{drawn['product']}"}
    return ids <= source_ids(name) and set(drawn["sections"]) <= sections_of(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int)
    parser.add_argument("--after", default="", help="the last set drawn (dev53)")
    parser.add_argument("--check", action="store_true", help="redraw every recorded set")
    args = parser.parse_args()
    if args.check:
        bad = [
            name
            for name, seed in DRAWN.items()
            if not matches(name, draw(seed, f"dev{int(name[3:]) - 1}"))
        ]
        print("every recorded set redrawn" if not bad else f"differ: {', '.join(bad)}")
        sys.exit(1 if bad else 0)
    if args.seed is None or not re.fullmatch(r"dev\d+", args.after):
        raise SystemExit("give --seed N and --after devN (or --check)")
    if not (PROBES / args.after).is_dir():
        raise SystemExit(f"no probe set {args.after!r}")
    drawn = draw(args.seed, args.after)
    drawn["sections"] = [s[:60] + "…" for s in drawn["sections"]]
    print(json.dumps(drawn, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

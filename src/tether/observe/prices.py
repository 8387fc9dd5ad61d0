"""What model tokens cost: a price table per model, configured by TETHER_MODEL_PRICES.

The variable holds either inline JSON or the path of a JSON or YAML file, shaped
`{"model-name": {"input_per_1k": 0.5, "output_per_1k": 1.5}}` (prices per thousand tokens, in
whatever currency the table is written in). A model missing from the table has no price: its
tokens are counted and reported as unpriced, never costed as zero.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tether.core.errors import ErrorCode, TetherError

PRICES_ENV = "TETHER_MODEL_PRICES"
# the usage keys model adapters record, by direction (OpenAI-compatible names first)
INPUT_KEYS = ("prompt_tokens", "input_tokens")
OUTPUT_KEYS = ("completion_tokens", "output_tokens")


class ModelPrice(BaseModel):
    """The price of a thousand input and a thousand output tokens of one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_1k: float = Field(ge=0, allow_inf_nan=False)
    output_per_1k: float = Field(ge=0, allow_inf_nan=False)


def token_counts(usage: Mapping[str, Any]) -> tuple[int, int]:
    """(input, output) tokens of one model turn's recorded `usage`; 0 for what it lacks."""

    def first(keys: tuple[str, ...]) -> int:
        for key in keys:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return 0

    return first(INPUT_KEYS), first(OUTPUT_KEYS)


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name, as the model turns record it."""

    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """What the tokens cost, or None when `model` has no price."""
        price = self.prices.get(model)
        if price is None:
            return None
        return (input_tokens * price.input_per_1k + output_tokens * price.output_per_1k) / 1000

    def to_dict(self) -> dict[str, Any]:
        return {m: p.model_dump() for m, p in sorted(self.prices.items())}

    @classmethod
    def parse(cls, data: object, where: str = PRICES_ENV) -> PriceTable:
        """A table from parsed JSON/YAML; CONFIG_INVALID naming the first bad entry."""
        if not isinstance(data, Mapping):
            raise _invalid(where, "must be an object of model name -> prices")
        prices: dict[str, ModelPrice] = {}
        for model, entry in data.items():
            if not isinstance(model, str) or not model:
                raise _invalid(where, f"model name {model!r} is not a non-empty string")
            try:
                prices[model] = ModelPrice.model_validate(entry)
            except ValidationError as exc:
                first = exc.errors()[0]
                at = ".".join(str(p) for p in first["loc"]) or "entry"
                raise _invalid(where, f"model {model!r}: {at}: {first['msg']}") from None
        return cls(prices)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PriceTable:
        """The table TETHER_MODEL_PRICES gives (inline JSON, or a JSON/YAML file); an empty
        table when it is unset."""
        env = os.environ if environ is None else environ
        raw = env.get(PRICES_ENV, "").strip()
        if not raw:
            return cls()
        if raw.startswith("{"):
            try:
                return cls.parse(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise _invalid(PRICES_ENV, f"is not valid JSON ({exc.msg})") from None
        return cls.load(Path(raw))

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        """A table from a JSON or YAML file."""
        where = f"{PRICES_ENV} file {str(path)!r}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _invalid(where, f"cannot be read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise _invalid(where, "cannot be read (it is not UTF-8 text)") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise _invalid(where, f"cannot be parsed ({type(exc).__name__})") from None
        except RecursionError:  # nested past what the parser can descend
            raise _invalid(where, "cannot be parsed (nested too deep)") from None
        return cls.parse(data, where)


def _invalid(where: str, problem: str) -> TetherError:
    shape = '{"model": {"input_per_1k": 0.5, "output_per_1k": 1.5}}'
    return TetherError(ErrorCode.CONFIG_INVALID, f"{where} {problem}; expected {shape}")

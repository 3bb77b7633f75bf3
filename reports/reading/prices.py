"""Prices per hour of the machines, read from a small TOML file, for the cost per epoch.

One format, a `[prices]` table mapping each machine's label (the `--bench-label` of its
result files) to what it costs per hour, all in one currency, which `currency` may name
(the report then prints it after every amount; without it no currency is printed):

    # prices.toml
    currency = "USD"
    [prices]
    "p5.48xlarge" = 98.32
    "vm-2c-cpu" = 0.10

Labels are quoted because they may hold dots, which TOML would read as nested tables.
A price given here overrides the one recorded in the run (`--bench-price-per-hour`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # Python 3.10: the same parser, published as tomli
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

TABLE = "prices"
CURRENCY = "currency"


@dataclass(frozen=True)
class Prices:
    """Price per hour of each label, and the currency they are in (None: not named)."""

    per_hour: dict[str, float] = field(default_factory=dict)
    currency: str | None = None


def load_prices(path: str | Path) -> Prices:
    """Label -> price per hour (and the currency) from the TOML file at `path`.

    `ValueError` naming the file (and the label) when the file is not valid TOML, has no
    `[prices]` table, or holds a price that is not a non-negative number.
    """
    if tomllib is None:
        raise RuntimeError(f"{path}: reading prices needs Python 3.11+ (tomllib) or the tomli package "
                           "(pip install tomli)")
    with open(path, "rb") as handle:
        try:
            document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
    return prices_from_document(document, str(path))


def prices_from_document(document: dict, source: str) -> Prices:
    """The checked `[prices]` table of a parsed TOML document; `source` names it in errors."""
    others = [key for key in document if key not in (TABLE, CURRENCY)]
    if others:
        # A price written above the table header lands at the top level: say where it belongs.
        stray = ", ".join(repr(key) for key in others)
        raise ValueError(f"{source}: unexpected top-level key(s) {stray}; only {CURRENCY} = \"...\" goes there: "
                         "put each "
                         f'"label" = price per hour under a [{TABLE}] table')
    table = document.get(TABLE)
    if not isinstance(table, dict):
        raise ValueError(f'{source}: no [{TABLE}] table; write [{TABLE}] then "label" = price per hour')
    prices: dict[str, float] = {}
    for label, value in table.items():
        # bool is an int in Python; `true` is not a price.
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise ValueError(f"{source}: the price of {label!r} must be a non-negative number per hour, "
                             f"not {value!r}")
        prices[str(label)] = float(value)
    currency = document.get(CURRENCY)
    if currency is not None and (not isinstance(currency, str) or not currency.strip()):
        raise ValueError(f'{source}: {CURRENCY} must be a name such as "USD", not {currency!r}')
    return Prices(prices, currency.strip() if currency else None)

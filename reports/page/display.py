"""Display: how every number and unit of the report is written, in one place.

Numbers stay unrounded through every stage and are rounded here only, for the tables, the
charts and the sentences alike. The table columns, each with one of these formats, are
declared in `reports.page.columns`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def known(value: object) -> bool:
    """False for None and NaN (pandas' missing values included), True for anything else."""
    if value is None:
        return False
    try:
        return value == value  # NaN, pd.NA and NaT are not equal to themselves
    except (TypeError, ValueError):  # pd.NA refuses a truth value
        return False


def rate(images_per_sec: float | None) -> str:
    """Images per second: 412, 6.1k, 61k, 1.2M."""
    if not known(images_per_sec):
        return ""
    value = float(images_per_sec)
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}"


def rate_unit(images_per_sec: float | None) -> str:
    """Images per second with its unit: '6.1k img/s'."""
    text = rate(images_per_sec)
    return f"{text} img/s" if text else ""


def seconds(value: float | None) -> str:
    """Seconds with about three significant digits, never in e-notation: 0.000123, 1.23, 123."""
    if not known(value):
        return ""
    value = float(value)
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 100:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{value:.{decimals}f}"


def duration(value: float | None) -> str:
    """A duration for sentences and chart labels: 8.2 s, 4.1 min, 1.5 h."""
    if not known(value):
        return ""
    figure, unit = _duration_parts(float(value))
    return f"{figure} {unit}"


def duration_range(low: float | None, high: float | None) -> str:
    """Two durations, the unit said once where they share it: '22-26 s', '50 s-2.1 min'."""
    if not known(low) or not known(high):
        return ""
    (first, first_unit), (second, second_unit) = _duration_parts(float(low)), _duration_parts(float(high))
    if first_unit == second_unit:
        return f"{first}\N{EN DASH}{second} {first_unit}"
    return f"{first} {first_unit}\N{EN DASH}{second} {second_unit}"


def _duration_parts(value: float) -> tuple[str, str]:
    if value >= 3600:
        return f"{value / 3600:.1f}", "h"
    if value >= 120:
        return f"{value / 60:.1f}", "min"
    if value >= 10:
        return f"{value:.0f}", "s"
    return f"{value:.2g}", "s"


def percent(value: float | None) -> str:
    """A value already in percent: 7.5%, 82%."""
    if not known(value):
        return ""
    value = float(value)
    return f"{value:.1f}%" if 0 < abs(value) < 9.95 else f"{value:,.0f}%"


def fraction(value: float | None) -> str:
    """A fraction as a percentage: 0.823 -> 82%."""
    return percent(float(value) * 100) if known(value) else ""


def signed_fraction(value: float | None) -> str:
    """A change as a signed percentage: -0.3 -> -30%, 0.12 -> +12%."""
    if not known(value):
        return ""
    return ("+" if float(value) > 0 else "") + fraction(value)


def times(ratio: float | None) -> str:
    """A ratio: 1.7x, 12x."""
    if not known(ratio):
        return ""
    ratio = float(ratio)
    return f"{ratio:.2f}x" if ratio < 1.095 else f"{ratio:.1f}x" if ratio < 9.95 else f"{ratio:.0f}x"


def p_value(p: float | None) -> str:
    """A rank test's p-value with its name: 'p = 0.031', 'p = 0.0002', 'p < 0.0001'."""
    if not known(p):
        return ""
    p = float(p)
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


def epochs(value: float | str | None) -> str:
    """A number of epochs (3.2, 0.41, 1,250), or a word in its place ("never")."""
    if isinstance(value, str):
        return value
    if not known(value):
        return ""
    value = float(value)
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}" if value < 10 else f"{value:.0f}"


def integer(value: float | None) -> str:
    return f"{int(value):,}" if known(value) else ""


def number(value: float | None) -> str:
    """Any other number: three significant digits, thousands separators from 1,000."""
    if not known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value.is_integer():
        return f"{int(value)}"
    return f"{value:.3g}"


def text(value: object) -> str:
    if not known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def flag(value: object) -> str:
    return ("yes" if value else "no") if known(value) else ""


def version(value: object) -> str:
    """A version as recorded; cuDNN's whole number (92600) as 9.26.0."""
    if isinstance(value, int | float) and not isinstance(value, bool) and known(value):
        whole = int(value)
        if whole >= 1000:  # cuDNN encodes major*10000 + minor*100 + patch (8.x: major*1000 + ...)
            major, rest = (whole // 10000, whole % 10000) if whole >= 10000 else (whole // 1000, whole % 1000)
            return f"{major}.{rest // 100}.{rest % 100}"
        return str(whole) if float(value).is_integer() else str(value)
    return text(value)


def money(amount: float | None, currency: str | None = None) -> str:
    """An amount with three significant digits, never in e-notation; the currency when named.

    The prices file is in one currency; without its name no symbol is printed.
    """
    if not known(amount):
        return ""
    amount = float(amount)
    if amount == 0:
        figure = "0"
    elif abs(amount) >= 100:
        figure = f"{amount:,.0f}"
    else:
        decimals = max(2 if abs(amount) >= 1 else 0, 2 - math.floor(math.log10(abs(amount))))
        figure = f"{amount:.{decimals}f}"
    return f"{figure} {currency}" if currency else figure


def size(message_bytes: int) -> str:
    """A message size in binary units: 256 KiB, 4 MiB, 1 GiB."""
    value = float(message_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:g} {unit}"
        value /= 1024
    return ""


def ordinal(value: int) -> str:
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def joined(items: Sequence[str], last: str = "and") -> str:
    """'a, b and c'."""
    items = [item for item in items if item]
    if not items:
        return ""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def config(batch_size: int | None, workers: int | None, loader: str | None) -> str:
    """'batch 128, 0 workers, tensor pipeline'."""
    parts = []
    if batch_size is not None:
        parts.append(f"batch {batch_size}")
    if workers is not None and loader != "device":
        parts.append(plural(workers, "worker"))
    if loader:
        parts.append(f"{loader} pipeline")
    return ", ".join(parts)


def spread_range(low: float | None, high: float | None, format_one: Callable = rate) -> str:
    """'5.9k-6.2k' for the min and max of the rounds."""
    if not known(low) or not known(high):
        return ""
    return f"{format_one(low)}\N{EN DASH}{format_one(high)}"


def with_interval(figure: float | None, interval: Sequence[float] | None, format_one: Callable = rate) -> str:
    """A figure with its interval: '12k [10k-14k]'; the figure alone where there is none (or a point)."""
    if not known(figure):
        return ""
    if not interval or format_one(interval[0]) == format_one(interval[1]):
        return format_one(figure)
    return f"{format_one(figure)} [{spread_range(interval[0], interval[1], format_one)}]"


def rank(number: int | None, shared: bool = False) -> str:
    """A rank, '=2' where another row shares it (a tie: no measurable difference between them)."""
    if number is None:
        return ""
    return f"={number}" if shared else str(number)


def accuracy(value: float | None) -> str:
    """An accuracy (a fraction) as a percentage with the precision a target is set to: 30%, 93.5%."""
    if not known(value):
        return ""
    percent_value = float(value) * 100
    return f"{percent_value:.0f}%" if abs(percent_value - round(percent_value)) < 0.05 else f"{percent_value:.1f}%"


def learning_rate(value: float | None) -> str:
    """A learning rate as written in a recipe: 0.001, 0.032, 0.4."""
    if not known(value):
        return ""
    return f"{float(value):.3g}"


def kilojoules(joules: float | None) -> str:
    """Energy in kJ with three significant digits: 3.12 kJ (the unit in the caller's header)."""
    return number(float(joules) / 1000) if known(joules) else ""

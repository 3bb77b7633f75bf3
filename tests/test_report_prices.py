"""reports.reading.prices: the prices file, read and checked, every problem naming the file."""

from __future__ import annotations

import pytest

from reports.reading.prices import Prices, load_prices


def test_load_prices_reads_the_prices_table_and_its_currency(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('# per hour\ncurrency = "EUR"\n[prices]\n"p5.48xlarge" = 98.32\n"vm-2c-cpu" = 0\n')
    assert load_prices(path) == Prices({"p5.48xlarge": 98.32, "vm-2c-cpu": 0.0}, "EUR")
    path.write_text('[prices]\n"vm" = 1\n')
    assert load_prices(path).currency is None


@pytest.mark.parametrize(("text", "message"), [
    ('[prices]\n"gpu-box" = -1.5\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = "cheap"\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = true\n', "the price of 'gpu-box'"),
    ('[prices]\n"gpu-box" = nan\n', "the price of 'gpu-box'"),
    ('"gpu-box" = 1.5\n', "unexpected top-level key(s) 'gpu-box'"),
    ("# nothing\n", "no [prices] table"),
    ('[prices]\n"gpu-box" = \n', "not valid TOML"),
    ('currency = 3\n[prices]\n"gpu-box" = 1\n', "currency must be a name"),
], ids=["negative", "text", "boolean", "nan", "top-level", "no-table", "broken", "currency"])
def test_load_prices_names_the_file_and_the_label(tmp_path, text, message):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"prices\.toml") as raised:
        load_prices(path)
    assert message in str(raised.value)

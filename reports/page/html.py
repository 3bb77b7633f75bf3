"""Stage 6, html: a `ReportData` -> one self-contained HTML page (a string; nothing is written here).

The Jinja2 template escapes every value (autoescape on); nothing that comes from a result
file is ever marked safe. Figures are SVG data URIs in <img> (a chart's text cannot become
markup). One small inline script sorts the result tables when a header is clicked; the page
reads fully without it and loads nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from reports.page.report_data import ReportData


def render(data: ReportData) -> str:
    """The page for `data`."""
    return _template().render(data=data)


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # on for every template: values from result files are never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")

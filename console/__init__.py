"""The saga console's presentation: Jinja2 templates and the CSS/JS they inline (no CDN).

The pages are rendered by `triggers/console.py`; this package only turns view data into HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

HERE = Path(__file__).resolve().parent

# autoescape=True for every template (not by file extension): every value a page shows —
# order ids, customer ids, search text, error messages — goes through HTML escaping.
_environment = Environment(loader=FileSystemLoader([HERE / "templates", HERE / "static"]), autoescape=True,
                           trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    return _environment.get_template(template).render(**context)

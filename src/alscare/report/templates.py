"""The Jinja environment of alscare's printed documents (the clinic letter, the cohort report):
every text escaped, undefined names an error, whitespace as written."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["document_environment"]


@cache
def document_environment(package: str) -> Environment:
    """The environment of the templates in ``package``'s ``templates`` folder, made once."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

"""Printing the letter's HTML to PDF with WeasyPrint (A4, page numbers from the stylesheet)."""

from __future__ import annotations

from alscare.errors import ConfigError

__all__ = ["render_pdf"]


def render_pdf(html: str) -> bytes:
    """The PDF bytes of an HTML page; the page carries its own print stylesheet."""
    try:
        # Imported here: WeasyPrint takes a moment to load and needs Pango, which the HTML
        # report and the rest of alscare do not.
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise ConfigError(
            "PDF reports need WeasyPrint and the Pango library: pip install 'alscare[report]' "
            f"and the Debian packages in scripts/system-deps ({error})"
        ) from None
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf

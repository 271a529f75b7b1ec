"""The printable patient report: a clinic-letter summary of one assessment, as HTML or PDF.

``render_html(record, assessment, kb)`` gives one self-contained HTML page (inline styles and
SVG charts, no scripts); ``render_pdf(html)`` prints that page to A4 PDF with WeasyPrint. Both
need the ``report`` extra (Jinja2, WeasyPrint; WeasyPrint also needs the Pango library).
"""

from __future__ import annotations

from alscare.report.letter import render_html
from alscare.report.pdf import render_pdf

__all__ = ["render_html", "render_pdf"]

"""Knowledge section ``diagnosis``: parameters of region involvement and the criteria, the
differential rules and the investigation plan.

Loaded from ``content/diagnosis/*.yaml``.
"""

from __future__ import annotations

from alscare.knowledge.base import Frozen

__all__ = ["DiagnosisRules"]


class DiagnosisRules(Frozen):
    """The knowledge section ``diagnosis``."""

"""Knowledge section ``treatment``: the treatment algorithm: patient groups, steps, drugs and their
status, recommendation and alert rules.

Loaded from ``content/treatment/*.yaml``.
"""

from __future__ import annotations

from alscare.knowledge.base import Frozen

__all__ = ["TreatmentRules"]


class TreatmentRules(Frozen):
    """The knowledge section ``treatment``."""

"""Knowledge section ``scoring``: parameters of the scores, stages and the ENCALS model.

Loaded from ``content/scoring/*.yaml``.
"""

from __future__ import annotations

from alscare.knowledge.base import Frozen

__all__ = ["ScoringParameters"]


class ScoringParameters(Frozen):
    """The knowledge section ``scoring``."""

"""Knowledge section ``topic``: the topic a clinician reads: diagnostic and risk factors,
investigations, differentials, guidelines.

Loaded from ``content/topic/*.yaml``.
"""

from __future__ import annotations

from alscare.knowledge.base import Frozen

__all__ = ["Topic"]


class Topic(Frozen):
    """The knowledge section ``topic``."""

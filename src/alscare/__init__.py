"""alscare: point-of-care decision support for amyotrophic lateral sclerosis.

    >>> from alscare import assess, load_knowledge, parse_record
    >>> assessment = assess(parse_record(data), as_of=date(2025, 2, 1), kb=load_knowledge())

Decision support for clinicians, not a diagnosis: every conclusion carries its reasons
(``because``) and its sources.
"""

from __future__ import annotations

from alscare.engine import assess
from alscare.errors import (
    AlscareError,
    ConfigError,
    KnowledgeError,
    NotFoundError,
    Problem,
    RecordError,
)
from alscare.knowledge import KnowledgeBase, load_knowledge
from alscare.schemas.assessment import Assessment
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record, parse_record_json

__version__ = "0.1.0"

__all__ = [
    "AlscareError",
    "Assessment",
    "ConfigError",
    "KnowledgeBase",
    "KnowledgeError",
    "NotFoundError",
    "PatientRecord",
    "Problem",
    "RecordError",
    "__version__",
    "assess",
    "load_knowledge",
    "parse_record",
    "parse_record_json",
]

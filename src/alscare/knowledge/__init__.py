"""The ALS topic as versioned, cited, validated data.

``load_knowledge()`` reads the packaged YAML content and returns a frozen KnowledgeBase; any
fault raises KnowledgeError naming the file, the item id and the field.
"""

from __future__ import annotations

from alscare.knowledge.loader import default_knowledge, load_knowledge
from alscare.knowledge.models import KnowledgeBase

__all__ = ["KnowledgeBase", "default_knowledge", "load_knowledge"]

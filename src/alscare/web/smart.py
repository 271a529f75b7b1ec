"""Routes of issue 12 (stub: to be implemented)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()

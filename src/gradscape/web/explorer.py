"""The explorer view's API (to be written)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def router(app: FastAPI) -> APIRouter:
    return APIRouter(prefix="/api/explorer", tags=["explorer"])

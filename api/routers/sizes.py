"""``POST /v1/sizes/recommend``: P(small/fit/large) for every offered size, the best size and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import sizing_service
from api.deps import SessionDep
from api.model_store import SizeModelDep
from api.schemas.sizing import SizeRecommendation, SizeRecommendRequest

router = APIRouter(prefix="/v1/sizes", tags=["sizes"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown item_id or shopper_id (the message names it)."},
    422: {"description": "Invalid input: a measurement out of range or in the wrong unit, malformed JSON."},
    503: {"description": "No size model has been trained yet."},
}


@router.post("/recommend", response_model=SizeRecommendation, responses=_ERRORS)
def recommend_size(
    body: SizeRecommendRequest, session: SessionDep, model: SizeModelDep
) -> SizeRecommendation:
    """Score every size the item is offered in and recommend the one most likely to fit."""
    return sizing_service.recommend(session, model, body)

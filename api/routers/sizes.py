"""``POST /v1/sizes/recommend``: P(small/fit/large) for every offered size, the best size and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from starlette.concurrency import run_in_threadpool

from api import sizing_service
from api.db.session import session_scope
from api.deps import SettingsDep
from api.messages import Lang, language
from api.model_store import LoadedModel, SizeModelDep
from api.schemas.sizing import SizeRecommendation, SizeRecommendRequest

router = APIRouter(prefix="/v1/sizes", tags=["sizes"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Unknown item_id, shopper_id, avatar_id or known_size.brand (the message names it)."
    },
    422: {"description": "Invalid input: a measurement out of range or in the wrong unit, malformed JSON."},
    503: {"description": "No size model has been trained yet."},
}


@router.post("/recommend", response_model=SizeRecommendation, responses=_ERRORS)
async def recommend_size(
    body: SizeRecommendRequest,
    settings: SettingsDep,
    model: SizeModelDep,
    response: Response,
    accept_language: Annotated[str | None, Header(description="en or zh-CN (the body's lang wins).")] = None,
) -> SizeRecommendation:
    """Score every size the item is offered in and recommend the one most likely to fit, saying why in
    English or Simplified Chinese."""
    lang = language(body.lang, accept_language)
    response.headers["Content-Language"] = lang
    # the database queries run in the threadpool: on PostgreSQL a slow query or a pool wait on the
    # event loop would stall every request of this worker (bench/load.py shows the difference)
    return await run_in_threadpool(_recommend, settings.sqlalchemy_url, model, body, lang)


def _recommend(url: str, model: LoadedModel, body: SizeRecommendRequest, lang: Lang) -> SizeRecommendation:
    with session_scope(url) as session:
        return sizing_service.recommend(session, model, body, lang)

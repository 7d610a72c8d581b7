"""``POST /v1/fit/check`` (one order line) and ``POST /v1/fit/check/batch``: flag likely mismatches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from starlette.concurrency import run_in_threadpool

from api import sizing_service
from api.db.session import session_scope
from api.deps import SessionDep, SettingsDep
from api.messages import Lang, language
from api.model_store import LoadedModel, SizeModelDep
from api.schemas.sizing import FitCheckBatchRequest, FitCheckBatchResult, FitCheckRequest, FitCheckResponse

router = APIRouter(prefix="/v1/fit", tags=["fit"])
AcceptLanguage = Annotated[str | None, Header(description="en (default) or zh-CN: the reasons' language.")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown item_id or shopper_id (the message names it and the line)."},
    422: {
        "description": "A size the item does not offer (lists the valid sizes), bad measurements, bad JSON."
    },
    503: {"description": "No size model has been trained yet."},
}


@router.post("/check", response_model=FitCheckResponse, responses=_ERRORS)
async def check_line(
    body: FitCheckRequest,
    settings: SettingsDep,
    model: SizeModelDep,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> FitCheckResponse:
    """Before it ships: is this order line's size likely too small or too large, and which size fits?"""
    lang = language(None, accept_language)
    response.headers["Content-Language"] = lang
    # in the threadpool, never on the event loop (see sizes.py)
    return await run_in_threadpool(_check, settings.sqlalchemy_url, model, body, lang)


def _check(url: str, model: LoadedModel, body: FitCheckRequest, lang: Lang) -> FitCheckResponse:
    with session_scope(url) as session:
        return sizing_service.check(session, model, body, lang)


@router.post("/check/batch", response_model=FitCheckBatchResult, responses=_ERRORS)
def check_batch(
    body: FitCheckBatchRequest,
    session: SessionDep,
    model: SizeModelDep,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> FitCheckBatchResult:
    """Up to 1000 order lines in one call, scored in one batch; any bad line fails the whole call."""
    lang = language(None, accept_language)
    response.headers["Content-Language"] = lang
    return sizing_service.check_lines(session, model, body.lines, lang)

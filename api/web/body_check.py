"""``POST /v1/avatars/validate``: check body parameters without building anything.

The studio calls it as the shopper types, so its live validation shows the very ranges and messages
that ``POST /v1/avatars`` would answer with, without a second copy of the rules in JavaScript.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.errors import ApiError
from api.schemas.avatars import AvatarCreate
from avatar.body.measurements import MeasurementError

router = APIRouter(prefix="/v1/avatars", tags=["avatars"])


class BodyCheck(BaseModel):
    ok: bool
    measurements: dict[str, float]


@router.post(
    "/validate",
    response_model=BodyCheck,
    responses={422: {"description": "The first problem, as POST /v1/avatars would report it."}},
)
def validate_body(body: AvatarCreate) -> BodyCheck:
    """The body converted to cm / kg, or the 422 that creating the avatar would give."""
    try:
        measurements = body.measurements()
    except MeasurementError as exc:
        details = {"field": exc.field, "range": list(exc.limit) if exc.limit else None}
        raise ApiError(422, "invalid_input", str(exc), details) from exc
    return BodyCheck(ok=True, measurements=dict(measurements.values))

"""Request and response bodies of /v1/sizes and /v1/fit.

Every measurement field carries its unit in its name (``stature_cm``, ``body_mass_kg``); unknown
fields are rejected, so ``{"height": 65}`` or ``{"stature_in": 65}`` is a 422 naming that field, and a
value outside the human range is a 422 naming the field and the allowed range.
"""

from __future__ import annotations

from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.messages import Lang
from sizing.known_size import normalizes_somewhere
from sizing.schema import BODY_RANGES

RANGES: Final = BODY_RANGES  # the same limits the importers apply
Cup = Literal["aa", "a", "b", "c", "d", "dd", "e", "f", "ddd", "g", "h", "i", "j"]
MAX_BATCH: Final = 1000

_ID = Field(min_length=1, max_length=64)


class Measurements(BaseModel):
    """Body measurements in cm, kg and years; any subset may be given."""

    model_config = ConfigDict(extra="forbid")

    stature_cm: float | None = Field(None, description="Height, 120–220 cm.")
    body_mass_kg: float | None = Field(None, description="Weight, 30–250 kg.")
    bust_girth_cm: float | None = Field(None, description="Bust girth, 60–180 cm.")
    waist_girth_cm: float | None = Field(None, description="Waist girth, 40–180 cm.")
    hip_girth_cm: float | None = Field(None, description="Hip girth, 60–200 cm.")
    bra_band: float | None = Field(None, description="US bra band size, 26–50 (inches).")
    cup: Cup | None = Field(None, description="US bra cup letter.")
    body_type: str | None = Field(None, max_length=32, description="e.g. hourglass, athletic, petite.")
    age_years: float | None = Field(None, description="Age, 13–100 years.")

    @field_validator(*RANGES)
    @classmethod
    def _in_range(cls, value: float | None, info: object) -> float | None:
        name = getattr(info, "field_name", "")
        lo, hi, unit = RANGES[name]
        if value is not None and not lo <= value <= hi:
            raise ValueError(f"{name} must be between {lo:g} and {hi:g} {unit}, got {value:g}")
        return value

    def given(self) -> dict[str, float | str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ShopperRef(BaseModel):
    """A shopper, as a known ``shopper_id``, an ``avatar_id`` and/or body ``measurements``.

    Where several are given, measurements override the avatar's, which override the shopper's row.
    """

    model_config = ConfigDict(extra="forbid")

    item_id: str = _ID
    shopper_id: str | None = Field(None, min_length=1, max_length=64)
    avatar_id: str | None = Field(
        None, min_length=1, max_length=36, description="An avatar from POST /v1/avatars: its measurements."
    )
    measurements: Measurements | None = None

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self._described():
            raise ValueError(f"give {self._ways()}")
        return self

    def _described(self) -> bool:
        measured = self.measurements is not None and bool(self.measurements.given())
        return self.shopper_id is not None or self.avatar_id is not None or measured

    def _ways(self) -> str:
        return "shopper_id, avatar_id or at least one field of measurements"


class KnownSize(BaseModel):
    """The size the shopper usually wears in a brand she knows ("8 in Acme")."""

    model_config = ConfigDict(extra="forbid")

    brand: str = Field(min_length=1, max_length=128, description="A brand with items here (GET /v1/brands).")
    size: str = Field(
        min_length=1, max_length=32, description="Its size label: 8, M, UK 12, EU 38, 28W, 34C, 165/88A, …"
    )

    @field_validator("brand", "size")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("size")
    @classmethod
    def _a_size(cls, value: str) -> str:
        if not normalizes_somewhere(value):
            raise ValueError(
                f"{value!r} is not a size label on any scale (e.g. 8, M, UK 12, EU 38, 28W, 34C, 165/88A)"
            )
        return value


class SizeRecommendRequest(ShopperRef):
    """Which size of ``item_id`` should this shopper order?"""

    known_size: KnownSize | None = Field(
        None, description="Her size in a brand she knows: her reference size, and a new shopper's size."
    )
    lang: Lang | None = Field(
        None, description="Language of the explanation (en, zh-CN); default: Accept-Language, else en."
    )

    def _described(self) -> bool:
        return super()._described() or self.known_size is not None

    def _ways(self) -> str:
        return "shopper_id, avatar_id, known_size or at least one field of measurements"


class SizeProbabilities(BaseModel):
    size: str
    p_small: float
    p_fit: float
    p_large: float


class ChartGap(BaseModel):
    """A size chart against the shopper's body at one size, at the measurement that binds."""

    size: str
    measurement: str = Field(description="e.g. bust_girth")
    chart_cm: float
    body_cm: float
    ease_cm: float = Field(description="chart − body; negative: tighter than the body")


class MessageOut(BaseModel):
    """One sentence as data: ``code`` names it and ``params`` fill it (for clients with own wording)."""

    code: str
    params: dict[str, Any]


class KnownSizePlacement(BaseModel):
    """The size she wears in a brand she knows, on this item's scale."""

    brand: str
    label: str = Field(description="The size label she gave.")
    brand_offset_steps: float | None = Field(
        description="How the brand runs: its items' mean learned offset (> 0 small); null: no item known."
    )
    value_steps: float | None = Field(
        description="Her size on the item's scale (label − brand offset); null: another scale family."
    )


class SizeReasons(BaseModel):
    """The physical size layer's part of the answer (what the explanation's sentences say, as data)."""

    item_offset_steps: float | None = Field(
        description="How far the item runs off its labels, in size steps (> 0 small); null: no history."
    )
    usual_size: str | None = Field(description="The offered size nearest the shopper's reference size.")
    usual_from: Literal["known_size", "history", "measurements"]
    preference: Literal["tight", "regular", "loose"] | None = Field(
        description="Fit preference learned from the shopper's history; null for a new shopper."
    )
    preference_steps: float | None = Field(description="Her target's offset from her body's size, steps.")
    chart: list[ChartGap] = Field(description="Chart gaps at the chosen size and the one below, if charted.")
    known_size: KnownSizePlacement | None = Field(None, description="Her known size, where given.")


class SizeRecommendation(BaseModel):
    item_id: str
    shopper_id: str | None
    model_version: str
    sizes: list[SizeProbabilities]
    recommended_size: str
    confidence: float = Field(description="P(fit) of the recommended size.")
    lang: Lang = Field(description="The language of the explanation.")
    explanation: list[str]
    explanation_messages: list[MessageOut] = Field(description="The explanation as message codes.")
    reasons: SizeReasons


class FitCheckRequest(ShopperRef):
    """One order line: will ``size`` of ``item_id`` fit this shopper?"""

    size: str = Field(min_length=1, max_length=32)


class FitCheckResult(BaseModel):
    item_id: str
    shopper_id: str | None
    size: str
    flag: bool = Field(description="True when P(small) or P(large) reaches the model's flag threshold.")
    p_small: float
    p_fit: float
    p_large: float
    suggested_size: str
    reason: str
    reason_message: MessageOut
    reasons: SizeReasons


class FitCheckBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[FitCheckRequest] = Field(min_length=1, max_length=MAX_BATCH)


class FitCheckBatchResult(BaseModel):
    model_version: str
    lang: Lang = Field(description="The language of every reason.")
    count: int
    flagged: int
    results: list[FitCheckResult]


class FitCheckResponse(FitCheckResult):
    model_version: str
    lang: Lang = Field(description="The language of the reason.")

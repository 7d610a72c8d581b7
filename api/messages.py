"""The explanation sentences of /v1/sizes and /v1/fit in the shopper's language.

``sizing`` says what to say as :class:`~sizing.messages.Message` objects (a code and parameters); this
module renders them through one catalog per language. English is the library's own catalog
(:data:`sizing.messages.EN`, byte for byte the sentences the API has always given); Simplified Chinese
is :data:`ZH_CN` below, which must hold every code and term English has (a test checks it). The
language comes from the request's ``lang`` field, else its ``Accept-Language`` header, else English.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, get_args

from sizing.messages import EN, Catalog, Message, render

Lang = Literal["en", "zh-CN"]
LANGS: Final[tuple[Lang, ...]] = get_args(Lang)

ZH_CN: Final = Catalog(
    lang="zh-CN",
    templates={
        "lead": "尺码 {size}：合身概率 {p_fit:.0%}（偏小 {p_small:.0%}，偏大 {p_large:.0%}）",
        "tie": "尺码 {sizes} 的合身概率相同；{size} 最接近您平常的尺码",
        "item_runs_one": "此商品尺码约{side}一码",
        "item_runs_many": "此商品尺码约{side} {steps} 码",
        "item_runs_one_rather": "此商品尺码约{side}一码：建议选 {size}，而不是{basis} {usual}",
        "item_runs_many_rather": "此商品尺码约{side} {steps} 码：建议选 {size}，而不是{basis} {usual}",
        "chart_tight": "尺码 {size} 的尺码表比您的{measurement}小 {cm:.0f} 厘米",
        "chart_room": "尺码 {size} 的尺码表在您的{measurement}处留有 {cm:.0f} 厘米余量",
        "prefers_loose": "您通常偏爱宽松的版型",
        "prefers_tight": "您通常偏爱贴身的版型",
        "known_size": "您在 {brand} 穿 {label} 码：此商品对应 {size} 码",
        "known_size_true": "您在 {brand} 穿 {label} 码，该品牌尺码标准：此商品对应 {size} 码",
        "known_size_half": "您在 {brand} 穿 {label} 码，该品牌尺码约{side}半码：此商品对应 {size} 码",
        "known_size_one": "您在 {brand} 穿 {label} 码，该品牌尺码约{side}一码：此商品对应 {size} 码",
        "known_size_many": "您在 {brand} 穿 {label} 码，该品牌尺码约{side} {steps:g} 码：此商品对应 {size} 码",  # noqa: E501
        "known_size_elsewhere": "您在 {brand} 穿的 {label} 码与此商品不属于同一尺码体系，因此未采用",
        "usual_order": "尺码 {size} 是{who}通常购买的尺码",
        "usual_order_side": "尺码 {size} {side}{who}通常购买的尺码（约 {usual:.0f}）",
        "item_history": "{n:.0f} 位买家中有 {share:.0%} 认为此商品{side}",
        "shopper_history": "您过去的 {n:.0f} 笔订单中，{small:.0f} 笔偏小，{large:.0f} 笔偏大",
        "category_history": "{share:.0%} 的买家认为 {category} 类商品{side}",
        "body_usual": "与您身材相近的人通常购买约 {usual:.0f} 码",
        "check_fits": "尺码 {size} 很可能合身（{p_fit:.0%}）",
        "check_flag": "尺码 {size} 很可能{side}（{p:.0%}）；尺码 {suggested} 的合身概率为 {p_suggested:.0%}",
        "check_flag_none": "尺码 {size} 很可能{side}（{p:.0%}）；没有更{bound}的尺码",
    },
    terms={
        "side": {"small": "偏小", "large": "偏大", "above": "大于", "below": "小于",
                 "too_small": "偏小", "too_large": "偏大"},
        "who": {"item": "此商品的买家", "you": "您"},
        "measurement": {"bust": "胸围", "waist": "腰围", "hip": "臀围", "underbust": "下胸围"},
        "basis": {"history": "您平常的尺码", "measurements": "根据您的身材推算的尺码",
                  "known_size": "根据您在其他品牌的尺码推算的"},
        "bound": {"larger": "大", "smaller": "小"},
    },
    list_sep="、",
)  # fmt: skip
CATALOGS: Final[dict[Lang, Catalog]] = {"en": EN, "zh-CN": ZH_CN}


def language(lang: Lang | None = None, accept_language: str | None = None) -> Lang:
    """The explicit ``lang``, else the best of ``Accept-Language`` we have (any ``zh`` reads the
    Simplified catalog, the only Chinese one), else English."""
    if lang is not None:
        return lang
    ranked: list[tuple[float, int, Lang]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                continue
        tag = tag.strip().lower()
        found: Lang | None = "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if found is not None and q > 0:
            ranked.append((-q, i, found))
    return min(ranked)[2] if ranked else "en"


def say(messages: Iterable[Message], lang: Lang) -> list[str]:
    """Each message as a sentence in ``lang``."""
    catalog = CATALOGS[lang]
    return [render(m, catalog) for m in messages]

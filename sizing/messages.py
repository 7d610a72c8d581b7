"""The sentences a recommendation or a fit check says, as data: a message code and its parameters.

Why: the library decides *what* to say (which facts, which numbers); how it reads in a language is
presentation, so a caller renders each :class:`Message` through a :class:`Catalog` — the service picks
one per request (``api.messages``: English and Simplified Chinese). English is the library's source
language: :data:`EN` is its catalog, and ``str(message)`` renders in it.

Parameters are numbers (probabilities as fractions, counts, cm, size steps), size labels and names
from the data (brands, categories), or *terms*: words from a closed vocabulary (``side``: ``small`` /
``large`` / ``above`` / …) that each catalog translates. The parameter names that hold terms are
:data:`TERM_PARAMS`; a list parameter (``sizes``) is joined with the catalog's separator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

#: parameters whose values are vocabulary words (a catalog translates each), not data
TERM_PARAMS: Final = ("side", "who", "measurement", "basis", "bound")


@dataclass(frozen=True)
class Message:
    """One sentence: ``code`` names its template in every catalog; ``params`` fill it."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self, EN)


@dataclass(frozen=True)
class Catalog:
    """One language: a template per message code (``str.format`` fields), each term's words, and the
    separator of lists."""

    lang: str
    templates: Mapping[str, str]
    terms: Mapping[str, Mapping[str, str]]
    list_sep: str = ", "


def render(message: Message, catalog: Catalog) -> str:
    """The sentence in ``catalog``'s language; a code or term the catalog lacks raises ``KeyError``
    (the tests hold every catalog complete, so a gap fails there, not in front of a shopper)."""
    template = catalog.templates[message.code]
    values: dict[str, object] = {}
    for name, value in message.params.items():
        if name in TERM_PARAMS:
            values[name] = catalog.terms[name][str(value)]
        elif isinstance(value, Sequence) and not isinstance(value, str):
            values[name] = catalog.list_sep.join(str(v) for v in value)
        else:
            values[name] = value
    return template.format(**values)


EN: Final = Catalog(
    lang="en",
    templates={
        # a recommendation's lead and tie-break
        "lead": "size {size}: {p_fit:.0%} chance it fits ({p_small:.0%} too small, {p_large:.0%} too large)",
        "tie": "sizes {sizes} are equally likely to fit; {size} is nearest your usual size",
        # the size layer: the item's offset, the chart against the body, her preference
        "item_runs_one": "this item runs about one size {side}",
        "item_runs_many": "this item runs about {steps} sizes {side}",
        "item_runs_one_rather": "this item runs about one size {side}: size {size} rather than {basis} {usual}",  # noqa: E501
        "item_runs_many_rather": "this item runs about {steps} sizes {side}: size {size} rather than {basis} {usual}",  # noqa: E501
        "chart_tight": "size {size}'s chart is {cm:.0f} cm tighter than your {measurement}",
        "chart_room": "size {size}'s chart leaves {cm:.0f} cm of room at your {measurement}",
        "prefers_loose": "you usually keep roomier fits",
        "prefers_tight": "you usually keep closer fits",
        # the size she wears in a brand she knows
        "known_size": "you wear {label} in {brand}: size {size} here",
        "known_size_true": "you wear {label} in {brand}, which runs true to size: size {size} here",
        "known_size_half": "you wear {label} in {brand}, which runs about half a size {side}: size {size} here",  # noqa: E501
        "known_size_one": "you wear {label} in {brand}, which runs about one size {side}: size {size} here",
        "known_size_many": "you wear {label} in {brand}, which runs about {steps:g} sizes {side}: size {size} here",  # noqa: E501
        "known_size_elsewhere": "your size {label} in {brand} is on another size scale than this item's, "
        "so it is not used here",
        # the features that moved the model's residual most
        "usual_order": "size {size} is what {who} usually order",
        "usual_order_side": "size {size} is {side} what {who} usually order (about {usual:.0f})",
        "item_history": "this item runs {side} for {share:.0%} of {n:.0f} buyers",
        "shopper_history": "you found {small:.0f} of your {n:.0f} past orders too small and {large:.0f} too large",  # noqa: E501
        "category_history": "{category} items run {side} for {share:.0%} of buyers",
        "body_usual": "people with your measurements usually order about size {usual:.0f}",
        # a fit check's verdict
        "check_fits": "size {size} is likely to fit ({p_fit:.0%})",
        "check_flag": "size {size} is likely {side} ({p:.0%}); size {suggested} fits with {p_suggested:.0%}",
        "check_flag_none": "size {size} is likely {side} ({p:.0%}); no {bound} size is offered",
    },
    terms={
        "side": {"small": "small", "large": "large", "above": "above", "below": "below",
                 "too_small": "too small", "too_large": "too large"},
        "who": {"item": "buyers of this item", "you": "you"},
        "measurement": {"bust": "bust", "waist": "waist", "hip": "hip", "underbust": "underbust"},
        "basis": {"history": "your usual", "measurements": "the size your measurements suggest,",
                  "known_size": "the size your other brand suggests,"},
        "bound": {"larger": "larger", "smaller": "smaller"},
    },
)  # fmt: skip

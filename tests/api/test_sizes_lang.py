"""The explanation in the shopper's language: every message the sizing library can say has a Simplified
Chinese sentence, and real recommendations and checks in zh-CN carry no English sentence."""

from __future__ import annotations

import re
import string
from itertools import product

import pandas as pd
import pytest
from sqlalchemy import update

from api.db.session import session_scope
from api.db.sizing_tables import Item
from api.messages import CATALOGS, ZH_CN, language
from sizing.messages import EN, TERM_PARAMS, Message, render
from tests.api import sizing_fixtures as fx

URL = "/v1/sizes/recommend"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
ASCII_WORD = re.compile(r"[A-Za-z]")

chart_item = fx.chart_item
rows = fx.rows
settings = fx.settings


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_message_and_term_has_a_chinese_sentence_with_the_same_fields() -> None:
    assert set(ZH_CN.templates) == set(EN.templates)
    for code, template in EN.templates.items():
        assert _fields(ZH_CN.templates[code]) == _fields(template), code
    assert {k: set(v) for k, v in ZH_CN.terms.items()} == {k: set(v) for k, v in EN.terms.items()}


def test_every_message_renders_in_every_language_for_every_term() -> None:
    """Each code with each word of each term it uses: no KeyError, no format error, no stray braces."""
    sample = {"p_fit": 0.61, "p_small": 0.2, "p_large": 0.19, "p": 0.45, "p_suggested": 0.8, "share": 0.3,
              "n": 12.0, "small": 3.0, "large": 1.0, "cm": 4.2, "usual": 8.0, "steps": 2,
              "sizes": ["4", "8"]}  # fmt: skip
    for code, template in EN.templates.items():
        fields = _fields(template)
        terms = [t for t in TERM_PARAMS if t in fields]
        for words in product(*(EN.terms[t] for t in terms)):
            params = {f: sample.get(f, "8") for f in fields} | dict(zip(terms, words, strict=True))
            for catalog in CATALOGS.values():
                text = render(Message(code, params), catalog)
                assert "{" not in text and "}" not in text, (code, text)
            zh = render(Message(code, params), ZH_CN)
            assert not ASCII_WORD.search(zh), (code, zh)  # the sample's data values are digits only


def test_the_language_comes_from_the_field_then_the_header() -> None:
    assert language(None, None) == "en"
    assert language(None, "fr-FR, zh-CN;q=0.8, en;q=0.5") == "zh-CN"
    assert language(None, "en-GB, zh;q=0.9") == "en"
    assert language(None, "zh-TW") == "zh-CN"  # the only Chinese catalog we have
    assert language(None, "zh-CN;q=0, en") == "en"
    assert language("en", "zh-CN") == "en"


def _chinese_only(sentence: str, message: dict) -> None:
    """No ASCII letter outside the data the sentence quotes (size labels, brand and category names)."""
    rest = sentence
    for name, value in message["params"].items():
        if name not in TERM_PARAMS:
            for v in value if isinstance(value, list) else [value]:
                rest = rest.replace(str(v), "")
    assert not ASCII_WORD.search(rest), (sentence, message)
    assert re.search(r"[\u4e00-\u9fff]", sentence), sentence


@pytest.fixture
def branded(settings, rows: pd.DataFrame) -> str:
    item = str(rows["item_id"].iloc[0])
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(Item).where(Item.id == item).values(brand="Acme"))
    return "Acme"


def test_real_recommendations_in_chinese_say_no_english_sentence(client, rows, chart_item, branded) -> None:
    """Known shoppers (history, preference), new visitors with a bust on the charted item, and a known
    size in a brand: every sentence in zh-CN is Chinese, and English is what it was."""
    requests = []
    for item in rows["item_id"].unique():
        buyers = rows.loc[rows["item_id"] == item, "shopper_id"].drop_duplicates().head(3)
        requests += [{"item_id": str(item), "shopper_id": str(s)} for s in buyers]
        requests.append({"item_id": str(item), "measurements": {"stature_cm": 165, "bust_girth_cm": 88},
                         "known_size": {"brand": branded, "size": "8"}})  # fmt: skip
    requests.append({"item_id": chart_item, "measurements": {"stature_cm": 168, "bust_girth_cm": 93}})
    codes = set()
    for body in requests:
        en = client.post(URL, json=body)
        zh = client.post(URL, json=body, headers=ZH)
        assert en.status_code == zh.status_code == 200, zh.text
        assert zh.headers["content-language"] == "zh-CN" and zh.json()["lang"] == "zh-CN"
        assert en.json()["explanation_messages"] == zh.json()["explanation_messages"]
        english = [render(Message(m["code"], m["params"]), EN) for m in en.json()["explanation_messages"]]
        assert en.json()["explanation"] == english
        for sentence, message in zip(
            zh.json()["explanation"], zh.json()["explanation_messages"], strict=True
        ):
            _chinese_only(sentence, message)
            codes.add(message["code"])
    # the requests reach the layer's sentences, the known size's and the residual's, not just the lead
    assert {"lead", "chart_room", "chart_tight"} & codes and any(c.startswith("known_size") for c in codes)
    assert len(codes) >= 5, codes


def test_the_body_field_wins_over_the_header(client, rows) -> None:
    body = {"item_id": str(rows["item_id"].iloc[0]), "measurements": {"stature_cm": 165}}
    r = client.post(URL, json={**body, "lang": "en"}, headers=ZH)
    assert r.json()["lang"] == "en" and r.headers["content-language"] == "en"
    assert r.json()["explanation"][0].startswith("size ")
    r = client.post(URL, json={**body, "lang": "zh-CN"})
    assert r.json()["explanation"][0].startswith("尺码 ")
    fx.assert_error(client.post(URL, json={**body, "lang": "fr"}), 422, "lang")


def test_fit_checks_give_their_reason_in_chinese(client, rows) -> None:
    lines = [
        {"item_id": str(r.item_id), "shopper_id": str(r.shopper_id), "size": str(r.size)}
        for r in rows.drop_duplicates("item_id").itertuples()
    ]
    one = client.post("/v1/fit/check", json=lines[0], headers=ZH)
    assert one.status_code == 200, one.text
    assert one.json()["lang"] == "zh-CN"
    _chinese_only(one.json()["reason"], one.json()["reason_message"])
    batch = client.post("/v1/fit/check/batch", json={"lines": lines}, headers=ZH).json()
    for result in batch["results"]:
        _chinese_only(result["reason"], result["reason_message"])
    english = client.post("/v1/fit/check", json=lines[0]).json()
    assert english["reason"] == render(Message(**english["reason_message"]), EN)
    assert english["reason"].startswith(f"size {lines[0]['size']} is likely")

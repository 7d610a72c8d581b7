"""Fixtures shared by the /v1/sizes and /v1/fit tests: real model, real database rows, real client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.db.session import session_scope
from api.settings import Settings
from tests.conftest import keyed_client
from tests.sizing_support import populate, serving_rows, trained_models_dir


@pytest.fixture
def rows() -> pd.DataFrame:
    return serving_rows()


@pytest.fixture
def chart_item(rows: pd.DataFrame) -> str:
    """The item given a size chart (sizes 4, 8, 12): its offered sizes come from the chart."""
    return str(rows["item_id"].value_counts().index[-1])


@pytest.fixture
def settings(tmp_path: Path, database_url: str, rows: pd.DataFrame, chart_item: str) -> Settings:
    settings = Settings(
        state_dir=tmp_path / "state", database_url=database_url, models_dir=trained_models_dir()
    )
    with session_scope(settings.sqlalchemy_url) as session:
        populate(session, rows, chart_item=chart_item)
    return settings


@pytest.fixture
def no_model_client(tmp_path: Path, settings: Settings) -> Iterator[TestClient]:
    empty = settings.model_copy(update={"models_dir": tmp_path / "no-models"})
    with keyed_client(empty) as c:
        yield c


def sold_sizes(rows: pd.DataFrame, item_id: str) -> list[str]:
    sold = rows[rows["item_id"] == item_id].drop_duplicates("size").sort_values("size_num")
    return list(sold["size"])


def assert_error(response: Any, status: int, *needles: str) -> dict[str, Any]:
    """The common error shape, with every needle in the message (never a 500)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    for needle in needles:
        assert needle in response.text, (needle, response.text)
    return error

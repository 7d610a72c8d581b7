"""Leakage: no outcome column, and no row's own outcome, may ever reach that row's features."""

from __future__ import annotations

import numpy as np
import pytest

from sizing.features import FeatureBuilder
from sizing.schema import OUTCOME_COLUMNS
from tests.sizing_support import rtr_slice


@pytest.fixture(scope="module")
def frame():
    return rtr_slice(3000, seed=1)


def test_no_feature_is_named_after_an_outcome(frame) -> None:
    names = FeatureBuilder().feature_names_
    for outcome in (*OUTCOME_COLUMNS, "review", "return"):
        assert not [n for n in names if outcome in n], outcome


def test_changing_outcome_columns_changes_no_serving_feature(frame) -> None:
    builder = FeatureBuilder()
    builder.fit_transform(frame, frame["fit"])
    before = builder.transform(frame)
    tampered = frame.copy()
    rng = np.random.default_rng(0)
    tampered["fit"] = rng.choice(["small", "fit", "large"], len(frame))
    tampered["rating"] = rng.uniform(2, 10, len(frame))
    tampered["return_reason"] = "too_small"
    tampered["review_text"] = "it was tiny"
    np.testing.assert_array_equal(builder.transform(tampered), before)


def test_a_rows_own_label_never_reaches_its_training_features(frame) -> None:
    """Flip one row's label: its own out-of-fold features must not move, while other rows' do."""
    y = frame["fit"].to_numpy(dtype=object)
    base = FeatureBuilder(random_state=3).fit_transform(frame, y)
    for row in (0, 1234, 2999):
        flipped = y.copy()
        flipped[row] = "small" if y[row] != "small" else "large"
        after = FeatureBuilder(random_state=3).fit_transform(frame, flipped)
        np.testing.assert_array_equal(after[row], base[row])
        # the label is used (as other rows' history), so this test would fail if a row saw its own
        assert not np.array_equal(np.nan_to_num(after), np.nan_to_num(base))


def test_rating_is_not_read_while_training(frame) -> None:
    shuffled = frame.copy()
    shuffled["rating"] = np.random.default_rng(1).permutation(shuffled["rating"].to_numpy())
    a = FeatureBuilder().fit_transform(frame, frame["fit"])
    b = FeatureBuilder().fit_transform(shuffled, shuffled["fit"])
    np.testing.assert_array_equal(a, b)


def test_history_baseline_has_no_shopper_or_item_features() -> None:
    names = FeatureBuilder(history=False).feature_names_
    assert not [n for n in names if n.startswith(("sh_", "it_", "is_", "ib_", "off_sh", "off_it"))]


def test_bad_labels_are_named(frame) -> None:
    with pytest.raises(ValueError, match="fit labels must be one of"):
        FeatureBuilder().fit_transform(frame.head(10), ["tiny"] * 10)

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


def test_every_feature_that_moves_with_the_size_is_constrained(frame) -> None:
    """The monotone guarantee needs every size-dependent column listed in ``size_directions_``."""
    builder = FeatureBuilder()
    builder.fit_transform(frame, frame["fit"])
    sizes = np.arange(0.0, 30.0, 2.0)
    grid = frame.iloc[[0] * len(sizes)].reset_index(drop=True)
    grid["size_num"], grid["size"] = sizes, [f"{s:g}" for s in sizes]
    features = builder.transform(grid)
    filled = np.nan_to_num(features, nan=-1e9)  # BLAS may differ in the last bit between rows
    moving = {n for j, n in enumerate(builder.feature_names_) if np.ptp(filled[:, j]) > 1e-6}
    assert "size_num" in moving
    assert moving == set(builder.size_directions_), sorted(moving)


def test_the_size_curves_residual_sees_no_feature_that_moves_with_the_size(frame) -> None:
    """With ``size_free`` the size reaches the curves only through the layer's floored slope."""
    builder = FeatureBuilder(size_free=True)
    builder.fit_transform(frame, frame["fit"])
    grid = frame.iloc[[0] * 15].reset_index(drop=True)
    grid["size_num"] = np.arange(0.0, 15.0)
    grid["size"] = [f"{s:g}" for s in grid["size_num"]]
    filled = np.nan_to_num(builder.transform(grid), nan=-1e9)
    assert not [n for j, n in enumerate(builder.feature_names_) if np.ptp(filled[:, j]) > 1e-6]

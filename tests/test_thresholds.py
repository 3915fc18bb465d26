"""Thresholds picked on held-out scores: pooled, or with each world's F1 weighed equally."""

import numpy as np

from friction.model.calibration import f1_thresholds


def two_worlds():
    """A large half-friction world (positives score 0.8, negatives 0.4) and a small world at a 5%
    base rate whose positives score 0.3 among negatives at 0.1: pooled, the large world sets the
    threshold above the small world's positives; weighed equally, it drops to catch them."""
    big_y = np.array([1] * 500 + [0] * 500)
    big_p = np.where(big_y == 1, 0.8, 0.4)
    small_y = np.array([1] * 10 + [0] * 190)
    small_p = np.where(small_y == 1, 0.3, 0.1)
    y = np.concatenate([big_y, small_y])[:, None]
    p = np.concatenate([big_p, small_p])[:, None]
    return p, y, ["written"] * 1000 + ["real"] * 200


def test_pooled_threshold_follows_the_large_world():
    p, y, _ = two_worlds()
    assert f1_thresholds(p, y)[0] > 0.4


def test_equal_worlds_threshold_reaches_the_small_worlds_positives():
    p, y, groups = two_worlds()
    t = f1_thresholds(p, y, groups)[0]
    assert 0.1 < t <= 0.3  # at or below the small world's positives, above its negatives


def test_a_label_without_positives_keeps_the_default_and_a_group_without_them_sits_out():
    p, y, groups = two_worlds()
    y2 = np.concatenate([y, np.zeros_like(y)], axis=1)
    p2 = np.concatenate([p, p], axis=1)
    assert f1_thresholds(p2, y2, groups)[1] == 0.5
    only_big = y.copy()
    only_big[1000:] = 0  # the small world has no positive of this label: only the big one decides
    assert f1_thresholds(p, only_big, groups)[0] == f1_thresholds(p[:1000], y[:1000])[0]

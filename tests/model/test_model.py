"""The prediction model: hand-computed fits and intervals, coverage, warnings (pure functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greenlove.measure.timing import EpochRecord
from greenlove.model import (
    DRIFT_REL_CPU,
    classify_roles,
    predict_time,
    proportional_prediction,
    sqrt_e_interval,
)
from greenlove.model.stats import fit_line, t_quantile, z_quantile


def _records(pairs, loader_epochs=None, spacing_s=1.0):
    """EpochRecords from (batches, epoch_s) pairs in benchmark order."""
    out, seen = [], {}
    for i, (batches, epoch_s) in enumerate(pairs):
        loader_epoch = seen.get(batches, 0) if loader_epochs is None else loader_epochs[i]
        seen[batches] = seen.get(batches, 0) + 1
        out.append(EpochRecord(order=i, sample_batches=batches, sample_size=batches * 10,
                               batches_drawn=batches, epoch_s=epoch_s, started_s=i * spacing_s,
                               loader_epoch=loader_epoch))
    return out


def test_fit_by_hand() -> None:
    # Relative residuals are +-0.1 at both sizes: a = 0, b = 1; sigma^2 = 4 * 0.01 / 2 = 0.02;
    # rows of the scaled design [1/s, x/s] are [1, 1] (x=1, s=1) and [1/3, 1] (x=3, s=3), so
    # (D'D)^-1 = [[9/4, -3/2], [-3/2, 5/4]] and cov = 0.02 * that.
    fit = fit_line([1, 1, 3, 3], [0.9, 1.1, 2.7, 3.3])
    assert fit.intercept_s == pytest.approx(0.0, abs=1e-9)
    assert fit.slope_s == pytest.approx(1.0)
    assert fit.noise_rel == pytest.approx(math.sqrt(0.02))
    assert np.allclose(fit.covariance, [[0.045, -0.03], [-0.03, 0.025]])
    assert fit.var_epoch_s(10) == pytest.approx(0.045 - 0.6 + 2.5)
    assert fit.dof == 2 and fit.lack_of_fit_p is None


def test_fit_ignores_a_swap_spike() -> None:
    x = [10, 10, 10, 20, 20, 20, 40, 40, 40]
    y = [1.0 + 0.1 * v for v in x]
    y[4] *= 5  # one epoch hit by swapping
    fit = fit_line(x, y)  # Huber bounds the spike's pull ...
    assert fit.intercept_s == pytest.approx(1.0, rel=0.02)
    assert fit.slope_s == pytest.approx(0.1, rel=0.02)
    # ... and the model classifies it as an outlier, so the prediction is exact.
    prediction = predict_time(_records(list(zip(x, y))), full_batches=100, epochs=10,
                              warmup_epochs=0)
    assert prediction.roles[4] == "outlier"
    assert prediction.fit.intercept_s == pytest.approx(1.0, rel=1e-6)
    assert prediction.time_s.point == pytest.approx(10 * (1.0 + 0.1 * 100), rel=1e-6)


def test_exact_data_interval_is_the_drift_term() -> None:
    # A perfect line leaves only the assumed drift: half-width = z * E * drift * epoch.
    records = _records([(b, 0.5 + 0.01 * b) for b in (10, 20, 40) * 4])
    prediction = predict_time(records, full_batches=1000, epochs=10, confidence=0.95)
    epoch = 0.5 + 0.01 * 1000
    assert prediction.time_s.point == pytest.approx(10 * epoch)
    half = z_quantile(0.95) * 10 * DRIFT_REL_CPU * epoch
    assert prediction.time_s.high - prediction.time_s.point == pytest.approx(half, rel=1e-3)
    assert prediction.warmup_s == 0.0 and prediction.warnings == ()


def test_drift_assumption_follows_the_training_device() -> None:
    import torch
    from torch import nn

    from greenlove.measure.timing import training_device_kind
    from greenlove.model import DRIFT_REL_ACCELERATOR, drift_rel_for

    assert training_device_kind(nn.Linear(2, 2)) == "cpu"
    assert training_device_kind(nn.Linear(2, 2, device="meta")) == "accelerator"  # not on a CPU
    assert training_device_kind(nn.BatchNorm1d(2, affine=False)) == "cpu"  # buffers only
    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        assert training_device_kind(None) == "cpu"
    assert drift_rel_for("cpu") == DRIFT_REL_CPU > DRIFT_REL_ACCELERATOR == drift_rel_for("accelerator")


def test_warmup_is_classified_and_added_once() -> None:
    pairs = [(2, 5.0), (2, 0.05)] + [(b, 0.03 + 0.01 * b) for b in (5, 10, 20) * 3]
    records = _records(pairs)
    roles = classify_roles(records, "auto")
    assert roles[0] == "warmup" and roles[1] == "steady"
    prediction = predict_time(records, full_batches=100, epochs=20)
    assert prediction.warmup_s == pytest.approx(5.0 - 0.05, rel=1e-3)
    assert prediction.time_s.point == pytest.approx(4.95 + 20 * 1.03, rel=1e-3)


def test_loader_start_counts_once() -> None:
    # Persistent workers: the first epoch of every loader pays 0.4 s of start-up.
    pairs, loader_epochs = [], []
    for round_ in range(4):
        for b in (5, 10, 20):
            pairs.append((b, 0.1 + 0.01 * b + (0.4 if round_ == 0 else 0.0)))
            loader_epochs.append(round_)
    prediction = predict_time(_records(pairs, loader_epochs), full_batches=100, epochs=10)
    assert prediction.roles[:3] == ("warmup", "loader-start", "loader-start")
    assert prediction.warmup_s == pytest.approx(0.8, rel=1e-3)


def test_fixed_per_epoch_cost_is_not_scaled() -> None:
    # 2 s of validation every epoch: proportional scaling multiplies it by N/n, greenlove not.
    records = _records([(b, 2.0 + 0.01 * b) for b in (10, 20, 40) * 4])
    ours = predict_time(records, full_batches=400, epochs=10)
    assert ours.time_s.point == pytest.approx(10 * (2.0 + 4.0))
    old = proportional_prediction(records, ours.roles, full_batches=400, epochs=10)
    assert old == pytest.approx(10 * (2.4 * 10))  # 10x too high


def test_proportional_baseline_by_hand() -> None:
    records = _records([(10, 1.0), (10, 0.5), (10, 0.6), (10, 0.55), (5, 0.3)])
    roles = ("warmup", "steady", "steady", "steady", "steady")
    # largest size 10, scale 100/10 = 10: warm-up 1.0*10 + 4 * median(0.5, 0.6, 0.55) * 10
    assert proportional_prediction(records, roles, full_batches=100, epochs=5) == \
        pytest.approx(10 + 4 * 5.5)


def test_curvature_is_warned_and_widens_the_interval() -> None:
    rng = np.random.default_rng(1)
    pairs = [(b, (0.01 * b + 0.0004 * b * b) * (1 + 0.002 * rng.standard_normal()))
             for b in (10, 25, 50, 100) * 5]
    prediction = predict_time(_records(pairs), full_batches=1000, epochs=10)
    assert any("straight line" in w for w in prediction.warnings)
    assert prediction.fit.lack_of_fit_p < 0.01


def test_trend_is_warned() -> None:
    pairs = [(b, (0.1 + 0.01 * b) * (1 + 0.01 * i)) for i, b in enumerate((10, 20, 40) * 5)]
    prediction = predict_time(_records(pairs), full_batches=100, epochs=10)
    assert any("slower" in w for w in prediction.warnings)
    assert prediction.variance_parts_s2["trend"] > 0


def test_short_epochs_are_warned() -> None:
    records = _records([(b, 0.001 + 0.0001 * b) for b in (2, 4, 8) * 3])
    assert any("too short" in w for w in predict_time(records, full_batches=100,
                                                       epochs=5).warnings)


def _simulate(rng, *, sizes, per_size, fixed_s, per_batch_s, noise_rel):
    pairs = [(b, (fixed_s + per_batch_s * b) * (1 + noise_rel * rng.standard_normal()))
             for _ in range(per_size) for b in sizes]
    return _records(pairs, loader_epochs=[1] * len(pairs))


def test_interval_covers_about_95_percent_and_old_interval_does_not() -> None:
    rng = np.random.default_rng(2026)
    trials, epochs, full = 400, 100, 400
    fixed_s, per_batch_s, noise = 0.2, 0.01, 0.05
    true_epoch = fixed_s + per_batch_s * full
    ours_hits = old_hits = 0
    for _ in range(trials):
        records = _simulate(rng, sizes=(25, 50, 100), per_size=5, fixed_s=fixed_s,
                            per_batch_s=per_batch_s, noise_rel=noise)
        actual = float(np.sum(true_epoch * (1 + noise * rng.standard_normal(epochs))))
        prediction = predict_time(records, full_batches=full, epochs=epochs, drift_rel=0.0,
                                  warmup_epochs=0)
        ours_hits += prediction.time_s.low <= actual <= prediction.time_s.high
        # The old method: 5 full-size epochs, E*mean +- t*sqrt(E)*sigma.
        full_epochs = true_epoch * (1 + noise * rng.standard_normal(5))
        old = sqrt_e_interval(full_epochs, epochs, 0.95)
        old_hits += old.low <= actual <= old.high
    assert 0.91 <= ours_hits / trials <= 0.995
    assert old_hits / trials < 0.5


def test_t_quantile_matches_tables() -> None:
    assert t_quantile(0.95, 1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(0.95, 10) == pytest.approx(2.228, abs=1e-3)
    assert z_quantile(0.95) == pytest.approx(1.960, abs=1e-3)


def test_split_fit_by_hand() -> None:
    from greenlove.model.stats import fit_split

    # rate = (0.2 + 0.4 + 0.8) / (2 + 4 + 8) = 0.1 s per batch; outside = epoch - 0.1 * d = 1.0
    split = fit_split([3, 5, 9], [0.2, 0.4, 0.8], [1.3, 1.5, 1.9])
    assert split.per_batch_s == pytest.approx(0.1)
    assert split.outside_s == pytest.approx(1.0)
    assert split.per_batch_var == pytest.approx(0.0, abs=1e-15)
    assert split.outside_var == pytest.approx(0.0, abs=1e-15)
    assert split.epoch_s(100) == pytest.approx(11.0)
    assert fit_split([2, 5, 9], [0.1, 0.4, 0.8], [1.2, 1.5, 1.9]) is None  # needs 3 epochs >= 3


def _split_records(pairs, drain_per_batch_s=0.0):
    """(batches, noise) pairs: 0.01 s per batch inside the loop, 2 s after it."""
    out = []
    for i, (b, noise) in enumerate(pairs):
        span = 0.01 * (b - 1) * (1 + noise)
        epoch = span + 0.01 + 2.0 * (1 + noise) + drain_per_batch_s * b
        out.append(EpochRecord(order=i, sample_batches=b, sample_size=b, batches_drawn=b,
                               epoch_s=epoch, started_s=float(i), loader_epoch=1, span_s=span))
    return out


def test_prediction_uses_the_batch_split_for_a_fixed_per_epoch_cost() -> None:
    rng = np.random.default_rng(0)
    pairs = [(b, 0.03 * rng.standard_normal()) for b in (4, 8, 16) * 3]
    prediction = predict_time(_split_records(pairs), full_batches=2000, epochs=10,
                              warmup_epochs=0)
    assert prediction.method == "batch-split"
    # 2000 batches x 0.01 s + 2 s after the loop = 22 s per epoch.
    assert prediction.epoch_s.point == pytest.approx(22.0, rel=0.03)
    assert prediction.time_s.low < 220.0 < prediction.time_s.high


def test_batch_split_is_rejected_when_the_rest_grows_with_the_sample() -> None:
    pairs = [(b, 0.0) for b in (4, 8, 16, 32) * 3]
    prediction = predict_time(_split_records(pairs, drain_per_batch_s=0.005),
                              full_batches=2000, epochs=10, warmup_epochs=0)
    assert prediction.method == "epoch-line"
    assert prediction.epoch_s.point == pytest.approx(2000 * 0.015 + 2.0, rel=1e-3)

"""Properties of the pure model that must hold for any input (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from greenlove.measure.timing import EpochRecord
from greenlove.model import predict_time
from greenlove.model.stats import fit_line

positive = st.floats(min_value=1e-4, max_value=10.0, allow_nan=False, allow_infinity=False)


@given(a=positive, b=positive, sizes=st.lists(st.integers(1, 10_000), min_size=2, max_size=6,
                                               unique=True))
@settings(max_examples=60, deadline=None)
def test_exact_lines_are_recovered(a, b, sizes) -> None:
    x = sizes * 2
    fit = fit_line(x, [a + b * v for v in x])
    assert math.isclose(fit.epoch_s(20_000), a + b * 20_000, rel_tol=1e-5)


@given(
    times=st.lists(st.floats(min_value=1e-3, max_value=100.0), min_size=6, max_size=30),
    full=st.integers(1, 100_000),
    epochs=st.integers(1, 1000),
)
@settings(max_examples=60, deadline=None)
def test_interval_is_ordered_and_finite(times, full, epochs) -> None:
    sizes = (2, 5, 11)
    records = [EpochRecord(order=i, sample_batches=sizes[i % 3], sample_size=sizes[i % 3],
                           batches_drawn=sizes[i % 3], epoch_s=t, started_s=float(i),
                           loader_epoch=i // 3)
               for i, t in enumerate(times)]
    prediction = predict_time(records, full_batches=max(full, 11), epochs=epochs)
    interval = prediction.time_s
    assert all(math.isfinite(v) for v in (interval.low, interval.point, interval.high))
    assert 0 <= interval.low <= interval.point <= interval.high
    assert prediction.warmup_s >= 0

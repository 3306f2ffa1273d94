"""The fitted speed-up model on hand-made and simulated matrices: a known answer, the interval's
coverage, the offer's method label and interval in the JSON, and the optional table columns."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from greenlove.compare.comparison import _estimate_dict
from greenlove.compare.offers import LocalRun, compare_offer
from greenlove.compare.speedup import fitted_speedup
from greenlove.compare.speedup_model import (
    Penalties,
    conformal_half_width,
    coverage,
    fit,
    leave_one_out,
    observations,
    prepare,
    residuals,
)
from greenlove.data.tables import ThroughputRatio, load_throughput
from greenlove.measure.local_device import LocalDevice
from greenlove.model import Interval

from .rows import CARBON, PUE_TABLE, SITES, offer, spec

NO_PRIOR = Penalties("test, nearly unpenalised", tau_gpu=30.0, tau_gpu_precision=30.0,
                     tau_gpu_family=30.0, spec_prior=False)


def row(task: str, gpu: str, value: float, *, base: str = "G0", family: str = "conv",
        precision: str = "fp32", as_of: str = "2024-01-01") -> ThroughputRatio:
    return ThroughputRatio(task=task, family=family, precision=precision, gpu=gpu, baseline_gpu=base,
                           relative_throughput=value, source="test table", as_of=as_of)


def test_a_missing_cell_is_predicted_from_its_row_and_column():
    # Throughput = task effect x GPU effect exactly: G1 is 2x G0, G2 is 3x G0 on every task; the
    # cell (t3, G2) is missing. The model must give G2 / G1 = 1.5 on t3 and G2 / G0 = 3.
    gpu_effect = {"G0": 1.0, "G1": 2.0, "G2": 3.0}
    rows = [row(t, g, e) for t in ("t1", "t2", "t3") for g, e in gpu_effect.items()
            if (t, g) != ("t3", "G2")]
    model = fit(observations(rows), [], NO_PRIOR)
    g0, g1, g2 = spec("G0"), spec("G1"), spec("G2")
    assert model.ratio(g1, g2, "conv", "fp32") == pytest.approx(1.5, rel=1e-3)
    assert model.ratio(g0, g2, "conv", "fp32") == pytest.approx(3.0, rel=1e-3)
    # Without a spec prior a GPU with no rows cannot be predicted.
    assert model.ratio(g0, spec("Unseen"), "conv", "fp32") is None


def test_leave_one_out_removes_the_cell_and_predicts_it_from_the_rest():
    gpu_effect = {"G0": 1.0, "G1": 2.0, "G2": 3.0}
    rows = [row(t, g, e) for t in ("t1", "t2", "t3") for g, e in gpu_effect.items()]
    obs = observations(rows)
    held = leave_one_out(obs, [], "cell", NO_PRIOR)
    assert len(held) == 6                                   # the non-self rows, each predicted
    assert max(abs(h.residual(obs)) for h in held) < 1e-3   # exact structure: recovered exactly
    # Corrupt one cell: its own held-out prediction does not see it, so its residual is the
    # corruption (log 2), while a plain fit would pull toward it.
    bad = [r if (r.task, r.gpu) != ("t2", "G1") else row("t2", "G1", 4.0) for r in rows]
    obs_bad = observations(bad)
    held_bad = {(obs_bad[h.index].task, obs_bad[h.index].gpu): h.residual(obs_bad)
                for h in leave_one_out(obs_bad, [], "cell", NO_PRIOR)}
    assert held_bad[("t2", "G1")] == pytest.approx(-math.log(2.0), abs=1e-3)


def test_conformal_half_width_rank():
    values = list(range(1, 40))                  # 39 residuals: rank ceil(40 x 0.95) = 38
    assert conformal_half_width(values, 0.95) == 38
    assert conformal_half_width(values[:10], 0.95) == math.inf   # too few for a 95% band


def _simulated(seed: int, gpus: int = 12, tasks: int = 8, sd: float = 0.1) -> list[ThroughputRatio]:
    rng = np.random.default_rng(seed)
    effect = rng.normal(0.0, 0.5, gpus)
    effect[0] = 0.0
    rows = []
    for t in range(tasks):
        for g in range(gpus):
            noise = 0.0 if g == 0 else rng.normal(0.0, sd)
            rows.append(row(f"t{t}", f"G{g}", math.exp(effect[g] - effect[0] + noise)))
    return rows


def test_the_95_percent_band_covers_about_95_percent_on_a_simulated_matrix():
    rows = _simulated(seed=7)
    obs = observations(rows)
    found = residuals(obs, leave_one_out(obs, [], "cell", NO_PRIOR))
    share = coverage(found, 0.95)
    # 88 held-out ratios: binomial sd ~2.3%; the nested band is built without the row's GPU.
    assert 0.89 <= share <= 1.0
    # and it is not trivially wide: the band's half-width is near 1.96 x the noise's sd x
    # sqrt(1 + small) (the prediction's own error), far below a loose 1.0
    half = conformal_half_width([abs(r.log_residual) for r in found], 0.95)
    assert 0.15 < half < 0.4


def test_the_offer_names_the_fitted_model_and_carries_its_interval_into_the_json():
    rows = _simulated(seed=3)
    specs = [spec(f"G{g}") for g in range(12)]
    fitted = prepare(rows, specs)
    local = LocalDevice("G1", "gpu", specs[1], None, None, "spec-table", "spec row 'G1'")
    run = LocalRun(device=local, time_s=Interval(3600.0, 3400.0, 3800.0, 0.95), energy_kwh=None,
                   cost_usd=None, co2_kg=None, gpu_power_w=None)
    estimate = compare_offer(offer("Prov", "G5"), specs[5], run, gpus=1, profile=None, ratios=rows,
                             carbon=CARBON, pue_table=PUE_TABLE, sites=SITES, fitted=fitted)
    entry = _estimate_dict(estimate, run)
    assert entry["speedup_method"] == "fitted-model"
    assert [s["method"] for s in entry["speedups"]][:2] == ["fitted-model", "published-ratio"]
    band = entry["speedup_interval"]
    assert band["low"] < entry["speedup"] < band["high"] and band["confidence"] == 0.95
    assert "cell held out" in band["method"]
    # The time interval is wider than the local one in relative terms: both errors are in it.
    t = entry["time_s"]
    assert t["high"] / t["point"] > 3800 / 3600 and t["point"] / t["low"] > 3600 / 3400
    direct = fitted_speedup(specs[1], specs[5], fitted, "other", "fp32")
    assert direct.value == pytest.approx(entry["speedup"])


def test_a_gpu_without_rows_is_predicted_from_specs_with_the_gpu_held_out_band():
    # Spec prior on: G-throughput proportional to bandwidth; "New" has none of the table's rows.
    bandwidth = {f"G{g}": 200.0 * (g + 1) for g in range(12)}
    rows = [row(f"t{t}", g, bw / 200.0 * (1.0 + 0.02 * ((t + i) % 3 - 1)))
            for t in range(6) for i, (g, bw) in enumerate(bandwidth.items())]
    specs = [spec(g, bw=bw) for g, bw in bandwidth.items()]
    new = spec("New", bw=1300.0)
    fitted = prepare(rows, specs + [new])
    s = fitted_speedup(specs[0], new, fitted, "conv", "fp32")
    assert s is not None and s.value == pytest.approx(6.5, rel=0.1)
    assert "GPU held out" in s.interval and "New from specs alone" in s.detail


def test_the_throughput_table_loads_with_or_without_the_batch_size_and_flag_columns(tmp_path):
    shipped = load_throughput()
    assert any(r.flag for r in shipped) and all(r.batch_size is not None for r in shipped)
    old = tmp_path / "old.csv"
    old.write_text("task,family,precision,gpu,baseline_gpu,relative_throughput,source,as_of\n"
                   "resnet50,conv,fp32,A,B,2.0,test,2024-01-01\n")
    (loaded,) = load_throughput(old)
    assert loaded.batch_size is None and loaded.flag == ""
    # A flagged row is kept in the table but never fitted.
    assert observations([loaded]) and not observations([replace(loaded, flag="batch size 0")])

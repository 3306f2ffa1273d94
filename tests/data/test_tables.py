"""The shipped reference tables load, carry their sources, and bad override files fail clearly."""

from __future__ import annotations

import pytest

from greenlove.data import tables
from greenlove.data.tables import TableError, closest_zones, find_gpu
from greenlove.errors import GreenloveError

LOADERS = [tables.load_gpus, tables.load_throughput, tables.load_offers, tables.load_carbon,
           tables.load_prices, tables.load_pue, tables.load_equivalences]
NUMBER_FIELDS = ["memory_gb", "memory_bandwidth_gbs", "fp32_tflops", "tf32_tflops_dense", "fp16_tflops_dense",
                 "bf16_tflops_dense", "tdp_w", "release_year", "relative_throughput", "gpus_per_instance",
                 "usd_per_gpu_hour", "usd_per_gpu_hour_spot", "g_co2_per_kwh", "year", "usd_per_kwh", "pue",
                 "kg_co2_per_unit"]


@pytest.fixture(scope="module")
def gpus():
    return tables.load_gpus()


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_shipped_table_loads_with_sources_and_dates(loader):
    rows = loader()
    assert rows
    for row in rows:
        assert row.source.strip(), row
        if hasattr(row, "as_of"):
            assert row.as_of.strip(), row
        elif isinstance(row, tables.Pue):
            assert row.year is not None or row.provider == "local" or row.pue is None, row
        else:
            assert row.year is not None, row


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_number_is_positive(loader):
    for row in loader():
        for name in NUMBER_FIELDS:
            value = getattr(row, name, None)
            assert value is None or value > 0, (row, name)


def test_table_sizes(gpus):
    assert len(gpus) >= 40
    carbon = tables.load_carbon()
    countries = [c for c in carbon if len(c.zone) == 2]
    assert len(countries) >= 60
    assert any(c.zone == "WORLD" for c in carbon)
    assert sum(c.zone.startswith("US-") for c in carbon) >= 50
    assert sum(c.zone.startswith("CA-") for c in carbon) >= 10
    assert len(tables.load_prices()) >= 5


def test_gpu_table_covers_consumer_to_datacenter(gpus):
    names = {g.name for g in gpus}
    for series in ("GeForce RTX 20", "GeForce RTX 30", "GeForce RTX 40", "GeForce RTX 50"):
        assert any(n.startswith(series) for n in names), series
    assert {"Tesla T4", "A100 80GB SXM", "H100 SXM", "B200", "AMD Instinct MI300X", "RTX A6000"} <= names
    assert {g.segment for g in gpus} == {"consumer", "workstation", "datacenter"}


def test_offers_crusoe_first_then_other_providers(gpus):
    offers = tables.load_offers()
    providers = list(dict.fromkeys(o.provider for o in offers))
    assert providers[0] == "Crusoe Cloud"
    crusoe = [o for o in offers if o.provider == "Crusoe Cloud"]
    assert offers[:len(crusoe)] == tuple(crusoe)
    assert len(providers) - 1 >= 3
    for offer in crusoe:
        assert offer.usd_per_gpu_hour is not None or "contact sales" in offer.notes, offer
    names = {g.name for g in gpus}
    assert {o.gpu for o in offers} <= names
    zones = {c.zone for c in tables.load_carbon()}
    assert {o.zone for o in offers if o.zone} <= zones


def test_throughput_names_exist_and_families_are_known(gpus):
    names = {g.name for g in gpus}
    ratios = tables.load_throughput()
    assert {r.gpu for r in ratios} | {r.baseline_gpu for r in ratios} <= names
    assert {r.family for r in ratios} <= {"conv", "transformer", "recurrent", "other"}
    assert {r.precision for r in ratios} == {"fp16", "fp32"}
    for r in ratios:
        if r.gpu == r.baseline_gpu:
            assert r.relative_throughput == pytest.approx(1.0)


def test_pue_has_local_default_and_crusoe_row():
    pue = {p.provider: p for p in tables.load_pue()}
    assert pue["local"].pue == 1.0
    assert "Crusoe Cloud" in pue
    assert all(p.pue is None or p.pue >= 1.0 for p in pue.values())


@pytest.mark.parametrize("device, expected", [
    ("NVIDIA GeForce RTX 3060 Laptop GPU", None),
    ("NVIDIA GeForce RTX 4070 SUPER", None),
    ("NVIDIA H100 80GB HBM3", "H100 SXM"),
    ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA H100 NVL", "H100 NVL"),
    ("Tesla V100-SXM2-32GB", "Tesla V100 SXM2"),
    ("Tesla V100-PCIE-16GB", "Tesla V100 PCIe"),
    ("NVIDIA A100-SXM4-80GB", "A100 80GB SXM"),
    ("NVIDIA A100-SXM4-40GB", "A100 40GB SXM"),
    ("NVIDIA A100-PCIE-40GB", "A100 40GB PCIe"),
    ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),
    ("Tesla T4", "Tesla T4"),
    ("NVIDIA L4", "L4"),
    ("NVIDIA L40S", "L40S"),
    ("NVIDIA A10G", "A10G"),
    ("NVIDIA RTX A6000", "RTX A6000"),
    ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada Generation"),
    ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    ("GeForce RTX 3060 Ti", "GeForce RTX 3060 Ti"),
    ("AMD Instinct MI300X", "AMD Instinct MI300X"),
    ("NVIDIA H200", "H200 SXM"),
    ("Tesla V100S-PCIE-32GB", None),
    ("Intel(R) Arc(TM) A770 Graphics", None),
])
def test_find_gpu(gpus, device, expected):
    found = find_gpu(device, gpus)
    assert (found.name if found else None) == expected


def test_find_gpu_refuses_ambiguous_names():
    twins = [tables.GpuSpec("X1 PCIe", "v", "a", "datacenter", *[None] * 8, "s", "2026"),
             tables.GpuSpec("X1 PCIE", "v", "a", "datacenter", *[None] * 8, "s", "2026")]
    assert find_gpu("X1 PCIe", twins) is None


def test_closest_zones():
    carbon = tables.load_carbon()
    assert closest_zones("DEU", carbon)[0] == "DE"
    assert "US-TX" in closest_zones("US-TXX", carbon)
    assert "NO" in closest_zones("Norway", carbon)
    assert len(closest_zones("U", carbon, n=3)) <= 3
    by_zone = {row.zone: row for row in carbon}
    assert closest_zones("DEU", by_zone)[0] == "DE"
    assert closest_zones("germany", by_zone) == ["DE"]
    assert closest_zones("US-CAA", ["US-CA", "CA"])[0] == "US-CA"


# --- override files ---------------------------------------------------------------------------------

PRICES_HEADER = "zone,usd_per_kwh,year,source\n"


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_override_replaces_the_table(tmp_path):
    path = write(tmp_path, PRICES_HEADER + "DE,0.31,2025,my utility bill\nFR,0.2,2025,\"tariff, 2025\"\n")
    rows = tables.load_prices(path)
    assert [(r.zone, r.usd_per_kwh, r.year) for r in rows] == [("DE", 0.31, 2025), ("FR", 0.2, 2025)]
    assert rows[1].source == "tariff, 2025"


def test_override_may_add_columns_and_leave_optional_cells_empty(tmp_path):
    header = ("name,vendor,architecture,segment,memory_gb,memory_bandwidth_gbs,fp32_tflops,tf32_tflops_dense,"
              "fp16_tflops_dense,bf16_tflops_dense,tdp_w,release_year,source,as_of,my_note\n")
    path = write(tmp_path, header + "My GPU,ACME,X,workstation,24,,,,,,300,,lab sheet,2026-01,hello\n")
    (gpu,) = tables.load_gpus(path)
    assert gpu.memory_gb == 24 and gpu.tdp_w == 300 and gpu.fp32_tflops is None and gpu.release_year is None


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path, "zone,price\nDE,0.3\n")
    with pytest.raises(TableError) as err:
        tables.load_prices(path)
    message = str(err.value)
    assert str(path) in message
    assert "usd_per_kwh" in message and "year" in message and "source" in message


@pytest.mark.parametrize("cell, problem", [("abc", "expected a number"), ("0,31", "more fields"),
                                           ("nan", "expected a number"), ("1e", "expected a number"),
                                           ("", "required value is empty")])
def test_non_numbers_name_file_line_and_column(tmp_path, cell, problem):
    path = write(tmp_path, PRICES_HEADER + "DE,0.3,2025,ok\n" + f"FR,{cell},2025,bad\n")
    with pytest.raises(TableError) as err:
        tables.load_prices(path)
    message = str(err.value)
    assert str(path) in message and "line 3" in message and problem in message
    if problem != "more fields":
        assert "'usd_per_kwh'" in message


def test_negative_price_is_rejected(tmp_path):
    path = write(tmp_path, PRICES_HEADER + "DE,-0.3,2025,typo\n")
    with pytest.raises(TableError, match=r"line 2: column 'usd_per_kwh': must be > 0, got '-0.3'") as err:
        tables.load_prices(path)
    assert str(path) in str(err.value)


def test_negative_offer_price_and_fractional_count_are_rejected(tmp_path):
    header = ("provider,gpu,gpus_per_instance,usd_per_gpu_hour,usd_per_gpu_hour_spot,region,zone,source,"
              "as_of,notes\n")
    path = write(tmp_path, header + "Me,H100 SXM,8,-2.5,,,,quote,2026-01-01,\n")
    with pytest.raises(TableError, match=r"line 2: column 'usd_per_gpu_hour': must be > 0"):
        tables.load_offers(path)
    path = write(tmp_path, header + "Me,H100 SXM,8.5,2.5,,,,quote,2026-01-01,\n")
    with pytest.raises(TableError, match=r"column 'gpus_per_instance': expected a whole number"):
        tables.load_offers(path)


def test_pue_below_one_and_duplicates_are_rejected(tmp_path):
    header = "provider,pue,year,source\n"
    with pytest.raises(TableError, match=r"line 2: column 'pue': must be >= 1"):
        tables.load_pue(write(tmp_path, header + "Me,0.9,2025,guess\n"))
    with pytest.raises(TableError, match=r"line 3: .*duplicate of line 2"):
        tables.load_pue(write(tmp_path, header + "Me,1.2,2025,a\nme,1.3,2025,b\n"))


def test_line_numbers_count_multiline_quoted_fields(tmp_path):
    path = write(tmp_path, PRICES_HEADER + 'DE,0.3,2025,"two\nlines"\nFR,x,2025,bad\n')
    with pytest.raises(TableError, match=r"line 4: column 'usd_per_kwh'"):
        tables.load_prices(path)


def test_unreadable_and_empty_files(tmp_path):
    with pytest.raises(TableError, match="cannot read"):
        tables.load_prices(tmp_path / "missing.csv")
    with pytest.raises(TableError, match="empty file"):
        tables.load_prices(write(tmp_path, ""))


def test_table_error_is_a_greenlove_value_error():
    assert issubclass(TableError, GreenloveError) and issubclass(TableError, ValueError)

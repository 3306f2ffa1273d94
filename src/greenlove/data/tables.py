"""Sourced reference tables: GPU specs, throughput ratios, cloud offers, grid carbon intensity,
electricity prices, PUE and CO2 equivalences.

Each table is a CSV file shipped in ``greenlove/data`` (read with importlib.resources) and every row
names its source and the date of its figure (``as_of`` or ``year``). Empty cells mean "no source
gave a value": they load as None, never as a guess.

Every loader takes ``path=None``: None reads the package copy, a path reads the user's own file with
the same columns (extra columns are ignored). Numbers are parsed strictly and must be positive; a
malformed file raises :class:`TableError` naming the file, the line, the column and the bad value.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from ..errors import GreenloveError


class TableError(GreenloveError, ValueError):
    """A reference table (shipped or user-supplied) cannot be read: file, line, column and value say why."""


@dataclass(frozen=True)
class GpuSpec:
    """One GPU: vendor peak figures. Tensor TFLOPS are dense (no 2:4 sparsity), FP32 accumulate."""

    name: str
    vendor: str
    architecture: str
    segment: str  # consumer | workstation | datacenter
    memory_gb: float | None
    memory_bandwidth_gbs: float | None
    fp32_tflops: float | None
    tf32_tflops_dense: float | None
    fp16_tflops_dense: float | None
    bf16_tflops_dense: float | None
    tdp_w: float | None
    release_year: int | None
    source: str
    as_of: str


@dataclass(frozen=True)
class ThroughputRatio:
    """Published training throughput of ``gpu`` on ``task`` divided by ``baseline_gpu``'s (same source)."""

    task: str
    family: str  # conv | transformer | recurrent | other
    precision: str  # fp16 (mixed precision) | fp32
    gpu: str
    baseline_gpu: str
    relative_throughput: float
    source: str
    as_of: str
    # The batch size of the run behind the figure (Lambda's batch-size table at the same commit);
    # None where not known. Optional column: files without it still load.
    batch_size: int | None = None
    # Why the row is not to be fitted or scored (e.g. a batch size of 0 in the source's
    # batch-size table); "" for a usable row. The row is kept and shown, never deleted.
    flag: str = ""


@dataclass(frozen=True)
class CloudOffer:
    """A cloud GPU price. ``zone`` is the carbon-intensity zone of the data centre, empty when unknown."""

    provider: str
    gpu: str
    gpus_per_instance: int | None
    usd_per_gpu_hour: float | None  # None: no published price
    usd_per_gpu_hour_spot: float | None
    region: str
    zone: str
    source: str
    as_of: str
    notes: str


@dataclass(frozen=True)
class CarbonIntensity:
    """Location-based (annual average) grid intensity of a zone: ISO country, ``US-XX``, ``CA-XX``, WORLD."""

    zone: str
    name: str
    g_co2_per_kwh: float
    year: int
    source: str


@dataclass(frozen=True)
class ElectricityPrice:
    zone: str
    usd_per_kwh: float
    year: int
    source: str


@dataclass(frozen=True)
class Pue:
    """A provider's published power usage effectiveness; None where none is published."""

    provider: str
    pue: float | None
    year: int | None
    source: str


@dataclass(frozen=True)
class Equivalence:
    """``kg_co2_per_unit`` kg of CO2 equal one ``unit`` (a mile driven, a phone charged, ...)."""

    name: str
    kg_co2_per_unit: float
    unit: str
    source: str
    as_of: str


@dataclass(frozen=True)
class ProviderSite:
    """A cloud provider's data-centre site: its grid zone and the provider's energy claim for it
    (``claimed_g_co2_per_kwh``: the intensity the claim implies, None where it implies none)."""

    provider: str
    region: str
    location: str
    zone: str
    claim: str
    claimed_g_co2_per_kwh: float | None
    source: str
    as_of: str


@dataclass(frozen=True)
class _Spec:
    filename: str
    optional: frozenset[str]  # columns whose cells may be empty (-> None or "")
    key: tuple[str, ...]  # columns that must be unique together; () = no check
    minimum: dict[str, float]  # inclusive lower bounds; other numbers must be > 0


_SPECS: dict[type, _Spec] = {
    GpuSpec: _Spec("gpus.csv", frozenset({
        "memory_gb", "memory_bandwidth_gbs", "fp32_tflops", "tf32_tflops_dense", "fp16_tflops_dense",
        "bf16_tflops_dense", "tdp_w", "release_year"}), ("name",), {}),
    ThroughputRatio: _Spec("throughput.csv", frozenset({"batch_size", "flag"}),
                           ("task", "precision", "gpu", "source"), {"batch_size": 0}),
    CloudOffer: _Spec("cloud_offers.csv", frozenset({
        "gpus_per_instance", "usd_per_gpu_hour", "usd_per_gpu_hour_spot", "region", "zone", "notes"}),
        (), {}),
    CarbonIntensity: _Spec("carbon_intensity.csv", frozenset(), ("zone",), {}),
    ElectricityPrice: _Spec("electricity_price.csv", frozenset(), ("zone",), {}),
    Pue: _Spec("pue.csv", frozenset({"pue", "year"}), ("provider",), {"pue": 1.0}),
    Equivalence: _Spec("co2_equivalences.csv", frozenset(), ("name",), {}),
    ProviderSite: _Spec("provider_sites.csv", frozenset({"claimed_g_co2_per_kwh"}),
                        ("provider", "region"), {"claimed_g_co2_per_kwh": 0.0}),
}

_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT = re.compile(r"[+-]?\d+")
_T = TypeVar("_T")
_EXTRA = "\0extra"  # DictReader's key for cells beyond the header


def _read_text(filename: str, path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(label for messages, file text): the package copy when ``path`` is None."""
    if path is None:
        return (f"greenlove/data/{filename} (package copy)",
                (resources.files("greenlove") / "data" / filename).read_text(encoding="utf-8"))
    try:
        return str(path), Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot read the file: {exc}") from exc


def _parse(kind: Any, raw: str, name: str, minimum: float | None, where: str) -> Any:
    if kind is str or kind == "str":
        return raw
    integer = "int" in str(kind) and "float" not in str(kind)
    if not (_INT if integer else _FLOAT).fullmatch(raw):
        expected = "a whole number" if integer else "a number"
        raise TableError(f"{where}: column {name!r}: expected {expected}, got {raw!r}")
    value = int(raw) if integer else float(raw)
    if minimum is None and value <= 0:
        raise TableError(f"{where}: column {name!r}: must be > 0, got {raw!r}")
    if minimum is not None and value < minimum:
        raise TableError(f"{where}: column {name!r}: must be >= {minimum:g}, got {raw!r}")
    return value


def _load(cls: type[_T], path: str | os.PathLike[str] | None) -> tuple[_T, ...]:
    spec = _SPECS[cls]
    label, text = _read_text(spec.filename, path)
    reader = csv.DictReader(io.StringIO(text), restkey=_EXTRA)
    header = [h.strip() for h in (reader.fieldnames or [])]
    columns = [f.name for f in fields(cls)]
    if not header:
        raise TableError(f"{label}: empty file, expected a header row: {', '.join(columns)}")
    # A column whose field has a default (added after the first release) may be absent.
    missing = [f.name for f in fields(cls) if f.name not in header
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise TableError(f"{label}: missing required column(s): {', '.join(missing)}")
    reader.fieldnames = header
    rows: list[_T] = []
    seen: dict[tuple[str, ...], int] = {}
    for record in reader:
        where = f"{label}: line {reader.line_num}"
        if record.get(_EXTRA):
            raise TableError(f"{where}: more fields than the header has columns: {record[_EXTRA]!r}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = (record.get(f.name) or "").strip()
            if not raw:
                if f.name not in header:
                    continue                     # absent optional column: the field's default
                if f.name not in spec.optional:
                    raise TableError(f"{where}: column {f.name!r}: required value is empty")
                values[f.name] = "" if f.type in (str, "str") else None
                continue
            values[f.name] = _parse(f.type, raw, f.name, spec.minimum.get(f.name), where)
        if spec.key:
            key = tuple(str(values[k]).casefold() for k in spec.key)
            if key in seen:
                raise TableError(f"{where}: column(s) {', '.join(spec.key)}: duplicate of line {seen[key]} "
                                 f"({' / '.join(str(values[k]) for k in spec.key)!r})")
            seen[key] = reader.line_num
        rows.append(cls(**values))
    return tuple(rows)


def load_gpus(path: str | os.PathLike[str] | None = None) -> tuple[GpuSpec, ...]:
    """GPU specs (``gpus.csv``)."""
    return _load(GpuSpec, path)


def load_throughput(path: str | os.PathLike[str] | None = None) -> tuple[ThroughputRatio, ...]:
    """Published per-task training throughput ratios (``throughput.csv``)."""
    return _load(ThroughputRatio, path)


def load_offers(path: str | os.PathLike[str] | None = None) -> tuple[CloudOffer, ...]:
    """Cloud GPU prices, Crusoe Cloud first (``cloud_offers.csv``)."""
    return _load(CloudOffer, path)


def load_carbon(path: str | os.PathLike[str] | None = None) -> tuple[CarbonIntensity, ...]:
    """Grid carbon intensity by zone (``carbon_intensity.csv``)."""
    return _load(CarbonIntensity, path)


def load_prices(path: str | os.PathLike[str] | None = None) -> tuple[ElectricityPrice, ...]:
    """Electricity price by country (``electricity_price.csv``)."""
    return _load(ElectricityPrice, path)


def load_pue(path: str | os.PathLike[str] | None = None) -> tuple[Pue, ...]:
    """Providers' published PUE, plus ``local`` = 1.0 (``pue.csv``)."""
    return _load(Pue, path)


def load_equivalences(path: str | os.PathLike[str] | None = None) -> tuple[Equivalence, ...]:
    """Everyday CO2 equivalents (``co2_equivalences.csv``)."""
    return _load(Equivalence, path)


# Words that name the vendor or brand, not the part: NVML says "NVIDIA GeForce RTX 4090" or
# "Tesla T4", ROCm "AMD Instinct MI300X" (or "... VF" for an SR-IOV slice of the same GPU).
_BRAND = frozenset({"nvidia", "amd", "geforce", "tesla", "instinct", "vf"})
_MEMORY = re.compile(r"\d+gb")
_MEMORY_TYPE = frozenset({"hbm2", "hbm2e", "hbm3", "hbm3e", "gddr6", "gddr6x", "gddr7"})
_FORM_FACTORS = frozenset({"sxm", "pcie", "nvl"})


def _gpu_tokens(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(model tokens, memory-size tokens) of a GPU name, e.g. "NVIDIA A100-SXM4-80GB" ->
    ({"a100", "sxm"}, {"80gb"})."""
    text = re.sub(r"(\d+)\s*gb\b", r"\1gb", name.lower().replace("(r)", " ").replace("(tm)", " "))
    core, memory = set(), set()
    for token in re.split(r"[^a-z0-9]+", text):
        token = "sxm" if re.fullmatch(r"sxm\d*", token) else token
        if not token or token in _BRAND or token in _MEMORY_TYPE:
            continue
        (memory if _MEMORY.fullmatch(token) else core).add(token)
    return frozenset(core), frozenset(memory)


def find_gpu(name: str, specs: Iterable[GpuSpec]) -> GpuSpec | None:
    """The spec row for a device name as NVML or torch report it, or None if no row is that part.

    Model words must match exactly apart from vendor/brand words, memory type and memory size:
    "NVIDIA GeForce RTX 4090" -> "GeForce RTX 4090", "NVIDIA A100-PCIE-40GB" -> "A100 40GB PCIe".
    A row that names a memory size needs the same size in the device name. Variants the table does
    not list are not folded into their base part: "RTX 4070 SUPER", "RTX 3060 Laptop GPU" and
    "V100S" give None, because a laptop or refreshed part differs in clocks and power. SXM parts are
    the one exception: NVML leaves their form factor out ("NVIDIA H100 80GB HBM3", "NVIDIA H200"),
    so a name with no form factor matches the SXM row. Ambiguous names give None.
    """
    core, memory = _gpu_tokens(name)
    exact: list[GpuSpec] = []
    sxm_default: list[GpuSpec] = []
    for spec in specs:
        spec_core, spec_memory = _gpu_tokens(spec.name)
        if not spec_memory <= memory:
            continue
        if spec_core == core:
            exact.append(spec)
        elif not core & _FORM_FACTORS and "sxm" in spec_core and spec_core - {"sxm"} == core:
            sxm_default.append(spec)
    for found in (exact, sxm_default):
        if found:
            sized = [s for s in found if _gpu_tokens(s.name)[1]] or found
            return sized[0] if len(sized) == 1 else None
    return None


def closest_zones(zone: str, table: Iterable[Any] | Mapping[str, Any], n: int = 5) -> list[str]:
    """Up to ``n`` zones of ``table`` that look like ``zone``, for "unknown zone 'DEU'; did you mean
    DE?" messages. ``table``: rows with a ``zone`` (and maybe a ``name``: country names match too),
    a mapping from zone to such rows, or plain zone strings."""
    if isinstance(table, Mapping):
        pairs = [(str(key), getattr(row, "name", "")) for key, row in table.items()]
    else:
        pairs = [(row, "") if isinstance(row, str) else (row.zone, getattr(row, "name", "")) for row in table]
    by_name = {str(name).casefold(): code for code, name in pairs if name}
    found = difflib.get_close_matches(zone.strip().upper(), [code for code, _ in pairs], n=n, cutoff=0.5)
    for match in difflib.get_close_matches(zone.strip().casefold(), list(by_name), n=n, cutoff=0.6):
        found.append(by_name[match])
    return list(dict.fromkeys(found))[:n]


def load_provider_sites(path: str | os.PathLike[str] | None = None) -> tuple[ProviderSite, ...]:
    """Cloud providers' sites, their zones and energy claims (``provider_sites.csv``)."""
    return _load(ProviderSite, path)

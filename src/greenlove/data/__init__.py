"""The data stage: sourced tables shipped as CSV (every row with its source and date) and their
one loader, which checks every cell and lets the user pass a file of their own instead."""

from .tables import (
    CarbonIntensity,
    CloudOffer,
    ElectricityPrice,
    Equivalence,
    GpuSpec,
    ProviderSite,
    Pue,
    TableError,
    ThroughputRatio,
    find_gpu,
    load_carbon,
    load_equivalences,
    load_gpus,
    load_offers,
    load_prices,
    load_provider_sites,
    load_pue,
    load_throughput,
)

__all__ = ["CarbonIntensity", "CloudOffer", "ElectricityPrice", "Equivalence", "GpuSpec",
           "ProviderSite", "Pue", "TableError", "ThroughputRatio", "find_gpu", "load_carbon",
           "load_equivalences", "load_gpus", "load_offers", "load_prices", "load_provider_sites",
           "load_pue", "load_throughput"]

"""Which cloud offers a summary or page shows: every Crusoe offer, then the cheapest others."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..result import ReportData


def cloud_rows(report: ReportData, limit: int) -> list[Mapping[str, Any]]:
    """Every Crusoe offer (table order), then the cheapest others, up to ``limit`` rows in all;
    the rest stay in the JSON."""
    crusoe = [o for o in report.clouds if o["provider"].startswith("Crusoe")]
    others = sorted((o for o in report.clouds if not o["provider"].startswith("Crusoe")),
                    key=lambda o: (o.get("cost_usd") or {}).get("point", math.inf))
    return crusoe + others[:max(limit - len(crusoe), 0)]

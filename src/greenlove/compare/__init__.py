"""The compare stage: where the run happens (site), its cost and CO2, and every cloud offer with
its speed-up, each with an interval and the method or source it came from."""

from .comparison import Comparison, build_comparison
from .options import CloudOptions
from .site import ResolvedSite, Site, SiteError, resolve_site

__all__ = ["CloudOptions", "Comparison", "ResolvedSite", "Site", "SiteError", "build_comparison",
           "resolve_site"]

"""Power sources behind one meter interface (base.py); discover.py finds what a machine has."""

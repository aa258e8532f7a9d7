"""Rule tables (clearances, cover, tree root zones, soil, climate, drinking water) with sources."""

from stadstwin.rules.tables import Rules, load_rules

__all__ = ["Rules", "load_rules"]

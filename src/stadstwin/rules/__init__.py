"""Rule tables with sources: utility kinds, clearances, cover, tree root zones, soil, climate,
drinking water, surfaces (SOLWEIG land cover) and heat sources (cable and pipe loads)."""

from stadstwin.rules.tables import Rules, load_rules, shipped_rules

__all__ = ["Rules", "load_rules", "shipped_rules"]

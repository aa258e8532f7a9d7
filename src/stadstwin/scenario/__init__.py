"""Plan variants applied to a twin, analyses on base and variant, and their comparison."""

"""Pictures drawn from twins and analysis results on demand: maps, cross-sections, 3D snapshots."""

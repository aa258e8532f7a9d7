"""stadstwin: a 3D digital twin of Dutch streets and districts, above and below ground."""

__version__ = "0.1.0"

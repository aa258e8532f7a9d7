"""Reading one analysis setting: a number given as text, null or a list is refused naming the key.

Settings arrive from JSON (the service), TOML (studies) or the command line, so their types are
whatever the user wrote; ``float(value)`` alone would end as a bare ``ValueError``/``TypeError``.
"""

from __future__ import annotations

from typing import Any

from stadstwin.errors import InputError


def number(value: Any, name: str, analysis: str, *, integer: bool = False) -> float | int:
    """``value`` of setting ``name`` as ``float`` (``int`` with ``integer``); ``InputError`` otherwise."""
    try:
        return int(value) if integer else float(value)
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if integer else "a number"
        raise InputError(f"{analysis} setting {name} = {value!r} is not {kind}", feature=name) from None

"""One exception family for stadstwin.

Every error names where it happened (file, feature id) and, where there is one, what to do about
it, so a user can fix the input without reading a stack trace.

``InputError``, ``RuleError`` and ``SceneError`` are also ``ValueError``s, so code that catches
``ValueError`` around a call keeps working. ``CRSError`` is not: readers catch ``ValueError`` from
their libraries and report it as an unreadable file, which a CRS problem is not.
"""

from __future__ import annotations

from os import PathLike


class StadstwinError(Exception):
    """Base of every error stadstwin raises on purpose.

    ``path`` is the file the problem is in, ``feature`` the feature id or key inside it, ``hint``
    what the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        feature: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.feature = feature
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.path, self.feature) if part)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class InputError(StadstwinError, ValueError):
    """An input file is missing, unreadable, truncated or holds invalid features."""


class CRSError(StadstwinError):
    """A coordinate reference system is missing, unknown or not convertible to EPSG:7415."""


class MissingCRSError(CRSError):
    """A file names no coordinate reference system and none was given to assume."""


class RuleError(StadstwinError, ValueError):
    """A rule table or a scene override of it has an unknown key or an impossible value."""


class SceneError(StadstwinError, ValueError):
    """A scene or variant definition is invalid."""

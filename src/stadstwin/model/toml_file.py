"""Reading TOML definition files with errors that name the file, line and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from stadstwin.errors import SceneError


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing, empty or broken file raises ``SceneError`` naming it."""
    if not path.is_file():
        raise SceneError("file not found", path=path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(f"invalid TOML: {exc}", path=path, hint="fix the syntax at that line") from exc
    except UnicodeDecodeError as exc:
        raise SceneError("not a UTF-8 text file", path=path) from exc
    if not data:
        raise SceneError("the file is empty", path=path)
    return data


def dotted(loc: tuple) -> str:
    """A pydantic error location as ``key.path``."""
    return ".".join(str(p) for p in loc) or "(top level)"


def validation_problems(exc: ValidationError, locate: Callable[[tuple], str] = dotted) -> str:
    """One line per pydantic error: ``key.path: message``; ``locate`` names the location."""
    lines = []
    for err in exc.errors():
        key = locate(err["loc"])
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            if err["type"] != "missing" and not isinstance(value, (dict, list)):
                message += f" (got {value!r})"
        lines.append(f"{key}: {message}")
    return "; ".join(lines)

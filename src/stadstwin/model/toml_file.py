"""Reading TOML definition files with errors that name the file, line and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
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


def validation_problems(exc: ValidationError) -> str:
    """One line per pydantic error: ``key.path: message``."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            if err["type"] != "missing" and not isinstance(value, (dict, list)):
                message += f" (got {value!r})"
        lines.append(f"{key}: {message}")
    return "; ".join(lines)

"""Which rule tables an analysis reads, recorded while it runs, and a digest of those tables.

A result cached under the digest of the tables it read is recomputed when one of them changes (a
scene override or an edited TOML) and kept when only tables it never reads change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from pydantic import PrivateAttr

from stadstwin.rules.tables import Rules

TABLES = frozenset(Rules.model_fields)


class RecordingRules(Rules):
    """The same rules, remembering the name of every table read (methods included)."""

    _read: set[str] = PrivateAttr(default_factory=set)

    def __getattribute__(self, name: str):
        if name in TABLES:
            object.__getattribute__(self, "__pydantic_private__")["_read"].add(name)
        return object.__getattribute__(self, name)

    @property
    def tables_read(self) -> frozenset[str]:
        return frozenset(object.__getattribute__(self, "__pydantic_private__")["_read"])


def recording(rules: Rules) -> RecordingRules:
    """A recording copy of ``rules`` (no values change; cached derived tables are recomputed)."""
    return RecordingRules.model_construct(**{name: getattr(rules, name) for name in TABLES})


def tables_digest(rules: Rules, tables: Iterable[str]) -> str:
    """BLAKE2b of the values of the named tables of ``rules``."""
    chosen = sorted(set(tables))
    text = json.dumps({"tables": chosen, "values": rules.model_dump(mode="json", include=set(chosen))},
                      sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

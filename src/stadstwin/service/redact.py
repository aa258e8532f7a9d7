"""Confidential network owners: their assets are shown to other organisations only as occupied space.

An owner listed as confidential (e.g. a telecom operator) keeps its cable geometry and utility kind
visible to everyone, but its feature ids, owner name, depth source, depth uncertainty and container
are withheld from every other organisation.

Every redaction decision of the service is made here, one method per kind of answer:

- the twin itself (``twin``), before anything is computed or exported from it: GLB layers
  (``export_glb``) and scene summaries (``summary``) are made from the redacted twin;
- documents made from the unredacted twin or naming its assets, with the *withheld strings*
  (``withheld_values``: the hidden owners' feature ids, container ids and owner names, also those a
  variant's edits create) replaced by ``WITHHELD``: findings (``features``), variant bodies
  (``variant``), job status documents (``job``), job results and comparison reports (``result``,
  ``comparison``), audit entries (``audit``), error and job messages (``text``), and any other JSON
  (``json``).

A withheld string is replaced wherever it occurs inside a text (a message naming a feature id
reads ``… 'confidential' …``), not only when a whole value equals it; it must not be part of a
longer id (``KL1009`` does not match inside ``KL10090``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stadstwin.io.glb import export_glb
from stadstwin.model.enums import DepthSource
from stadstwin.model.twin import Twin

if TYPE_CHECKING:
    from stadstwin.rules import Rules
    from stadstwin.scenario.compare import Comparison

#: What a withheld attribute reads as.
WITHHELD = "confidential"

#: Edit types of a variant body that create a network feature, and the field naming its owner
#: (``owner``) or the feature it copies the owner from (``feature``). Their feature id is
#: ``<variant id>/<edit id>`` (``scenario.apply``).
_OWNED_EDITS = {"add_network": "owner", "claim_space": "party"}
_COPYING_EDITS = {"relocate_network": "feature"}


class Visibility:
    """What one organisation may see, given the confidential owners of the service.

    ``organisation`` None (a caller without a valid token) may see no confidential owner's assets.
    """

    def __init__(self, confidential: Collection[str], organisation: str | None) -> None:
        self.hidden = frozenset(confidential) - {organisation}

    # --- what is withheld -------------------------------------------------------------------
    def hidden_mask(self, twin: Twin) -> np.ndarray:
        """Network segments whose attributes this organisation may not see."""
        owners = twin.networks.owner_name.astype(str)
        return np.isin(owners, list(self.hidden)) if len(owners) else np.zeros(0, dtype=bool)

    def withheld_values(self, twin: Twin, bodies: Iterable[dict[str, Any]] = ()) -> frozenset[str]:
        """Strings (feature ids, container ids, owner names) that must not leave the service: those of
        ``twin`` and those the edits of these variant bodies (of ``twin``'s scene) create."""
        if not self.hidden:
            return frozenset()
        mask = self.hidden_mask(twin)
        networks = twin.networks
        values = set(networks.feature_id[mask].tolist()) | set(networks.container[mask].tolist()) | set(self.hidden)
        for body in bodies:
            values |= self._created_ids(body, values)
        values.discard("")
        return frozenset(values)

    def _created_ids(self, body: dict[str, Any], withheld: set[str]) -> set[str]:
        """Ids of the hidden owners' features that the edits of a variant body create."""
        created: set[str] = set()
        vid = body.get("id")
        for edit in body.get("edits") or []:
            if not isinstance(edit, dict) or not isinstance(edit.get("id"), str):
                continue
            kind = edit.get("type")
            owner = edit.get(_OWNED_EDITS.get(kind, ""))
            copied = edit.get(_COPYING_EDITS.get(kind, ""))
            if owner in self.hidden or (isinstance(copied, str) and copied in withheld | created):
                created.add(f"{vid}/{edit['id']}")
        return created

    # --- the twin and what is made from it ----------------------------------------------------
    def twin(self, twin: Twin) -> Twin:
        """The twin with hidden owners' network attributes replaced; geometry and utility kind stay."""
        mask = self.hidden_mask(twin)
        if not mask.any():
            return twin
        n = twin.networks
        owners = list(n.owners)
        if WITHHELD not in owners:
            owners.append(WITHHELD)
        owner = np.where(mask, owners.index(WITHHELD), n.owner).astype(np.int32)
        feature_id = n.feature_id.astype(object)
        feature_id[mask] = [f"{WITHHELD}-{i}" for i in n.asset[mask]]
        networks = replace(
            n, owner=owner, owners=tuple(owners), feature_id=feature_id.astype(str),
            depth_source=np.where(mask, DepthSource.PROFILE_DEFAULT, n.depth_source).astype(n.depth_source.dtype),
            depth_uncertainty=np.where(mask, np.nan, n.depth_uncertainty),
            container=np.where(mask, "", n.container).astype(str),
        )
        operating = {k: v for k, v in twin.operating.items() if k not in set(n.feature_id[mask].tolist())}
        return replace(twin, networks=networks, operating=operating)

    def export_glb(self, twin: Twin, folder: str | Path, *, rules: Rules | None = None) -> dict[str, Path]:
        """GLB layers of the redacted twin; nodes of withheld segments carry only their utility kind
        and ``confidential: true`` as extras."""
        return export_glb(self.twin(twin), folder, rules=rules, confidential=self.hidden_mask(twin))

    def summary(self, twin: Twin) -> dict[str, Any]:
        """The summary (``build.summary``) of the redacted twin."""
        from stadstwin.build.summary import summarize

        redacted = self.twin(twin)
        return self.json(summarize(redacted), self.withheld_values(twin))

    # --- documents ----------------------------------------------------------------------------
    def text(self, text: str, withheld: frozenset[str]) -> str:
        """``text`` with every withheld string in it replaced (messages, targets, free text)."""
        if not withheld or not text:
            return text
        if text in withheld:
            return WITHHELD
        return _replaced(text, withheld)

    def json(self, value: Any, withheld: frozenset[str]) -> Any:
        """``value`` (JSON-like) with every withheld string replaced, at any depth, keys included."""
        if not withheld:
            return value
        if isinstance(value, str):
            return self.text(value, withheld)
        if isinstance(value, dict):
            return {self.json(k, withheld): self.json(v, withheld) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.json(v, withheld) for v in value]
        return value

    def features(self, features: list[dict[str, Any]], withheld: frozenset[str]) -> list[dict[str, Any]]:
        """GeoJSON findings with withheld strings replaced, and the per-party attributes of a withheld
        party (``owner_a`` withheld → ``feature_a``, ``depth_uncertainty_a_m``, … null; ``utility_a`` stays)."""
        if not withheld:
            return features
        visible = []
        for feature in features:
            properties = dict(feature.get("properties") or {})
            for key, value in feature.get("properties", {}).items():
                if key.startswith("owner_") and value in withheld:
                    party = key.removeprefix("owner_")
                    for name in properties:
                        kept = name in (key, f"utility_{party}")  # the owner reads "confidential" below
                        if not kept and (name.endswith(f"_{party}") or f"_{party}_" in name):
                            properties[name] = None
            visible.append({**feature, "properties": self.json(properties, withheld)})  # geometry is only numbers
        return visible

    def variant(self, body: dict[str, Any], withheld: frozenset[str]) -> dict[str, Any]:
        """A variant body (its edits may name a hidden owner's features or the hidden owner)."""
        return self.json(body, withheld)

    def job(self, status: dict[str, Any], withheld: frozenset[str]) -> dict[str, Any]:
        """A job status document: inputs, message (a failed job's reason) and the rest; the variant
        bodies the job ran on are never part of it."""
        inputs = {k: v for k, v in (status.get("inputs") or {}).items()
                  if not k.endswith("_body") and not k.endswith("_bodies")}
        return self.json({**status, "inputs": inputs}, withheld)

    def result(self, result: dict[str, Any], withheld: frozenset[str]) -> dict[str, Any]:
        """A job result: analysis metrics and links, a build summary, or a comparison report
        (``scenario.report.report_data``) whose findings per variant are redacted as findings."""
        if not withheld:
            return result
        result = dict(result)
        if isinstance(result.get("variants"), list):
            result["variants"] = [
                {**v, "findings": {name: self.features(f, withheld) for name, f in (v.get("findings") or {}).items()}}
                if isinstance(v, dict) else v for v in result["variants"]]
        return self.json(result, withheld)

    #: A comparison report as JSON (``report_data``) is a result like any other.
    report = result

    def comparison(self, done: Comparison, withheld: frozenset[str]) -> Comparison:
        """A comparison (for its HTML/JSON report) with every run's findings and the new/resolved
        findings redacted; the variants' own fields too."""
        if not withheld:
            return done
        from stadstwin.model.variant import Variant

        runs = [replace(run,
                        variant=Variant.model_validate(self.variant(run.variant.model_dump(mode="json"), withheld)),
                        results={name: replace(result, findings=self.features(result.findings, withheld))
                                 for name, result in run.results.items()}) for run in done.runs]
        changes = {vid: {name: {k: self.features(rows, withheld) for k, rows in change.items()}
                         for name, change in per.items()} for vid, per in done.changes.items()}
        return replace(done, runs=runs, changes=changes)

    def audit(self, entries: list[dict[str, Any]], withheld: frozenset[str]) -> list[dict[str, Any]]:
        """Audit entries: the acting organisation (a hidden owner reads ``confidential``), the target,
        and the detail (variant bodies, job inputs with their variant bodies)."""
        return [self.json(entry, withheld | self.hidden) for entry in entries]

    def error(self, detail: Any, withheld: frozenset[str]) -> Any:
        """The ``detail`` of an error answer (a message, or a list of problems)."""
        return self.json(detail, withheld | self.hidden)


def bodies_in(value: Any) -> list[dict[str, Any]]:
    """Variant bodies inside a job's inputs or an audit entry's detail (``body``, ``variant_body``,
    ``variant_bodies``), so their created ids can be withheld too."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("body", "variant_body") and isinstance(item, dict):
                found.append(item)
            elif key == "variant_bodies" and isinstance(item, list):
                found += [b for b in item if isinstance(b, dict)]
            else:
                found += bodies_in(item)
    return found


@lru_cache(maxsize=1 << 16)
def _replaced(text: str, withheld: frozenset[str]) -> str:
    """``text`` with withheld strings replaced (findings repeat their strings: kept per text)."""
    return _pattern(withheld).sub(WITHHELD, text)


@lru_cache(maxsize=64)
def _pattern(withheld: frozenset[str]) -> re.Pattern[str]:
    """One regex matching any withheld string that is not part of a longer id (longest first)."""
    alternatives = "|".join(re.escape(v) for v in sorted(withheld, key=len, reverse=True))
    return re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")

"""Confidential network owners: their assets are shown to other organisations only as occupied space.

An owner listed as confidential (e.g. a telecom operator) keeps its cable geometry and utility kind
visible to everyone, but its feature ids, owner name, depth source, depth uncertainty and container
are withheld from every other organisation — in GLB layers, findings and any JSON.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

import numpy as np

from stadstwin.model.enums import DepthSource
from stadstwin.model.twin import Twin

#: What a withheld attribute reads as.
WITHHELD = "confidential"


class Visibility:
    """What one organisation may see, given the confidential owners of the service."""

    def __init__(self, confidential: Collection[str], organisation: str) -> None:
        self.hidden = frozenset(confidential) - {organisation}

    def hidden_mask(self, twin: Twin) -> np.ndarray:
        """Network segments whose attributes this organisation may not see."""
        owners = twin.networks.owner_name.astype(str)
        return np.isin(owners, list(self.hidden)) if len(owners) else np.zeros(0, dtype=bool)

    def withheld_values(self, twin: Twin) -> frozenset[str]:
        """Strings (feature ids, container ids, owner names) that must not leave the service."""
        if not self.hidden:
            return frozenset()
        mask = self.hidden_mask(twin)
        networks = twin.networks
        values = set(networks.feature_id[mask].tolist()) | set(networks.container[mask].tolist()) | set(self.hidden)
        values.discard("")
        return frozenset(values)

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

    def json(self, value: Any, withheld: frozenset[str]) -> Any:
        """``value`` (JSON-like) with every withheld string replaced, at any depth, keys included."""
        if not withheld:
            return value
        if isinstance(value, str):
            return WITHHELD if value in withheld else value
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

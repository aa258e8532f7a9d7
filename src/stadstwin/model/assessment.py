"""A criterion of an assessment frame (afwegingskader): one metric, its direction, limit and weight."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Criterion(BaseModel):
    """One criterion of the frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$", description="<analysis>.<metric>")
    label: str = Field(min_length=1)
    better: Literal["lower", "higher"]
    limit: float | None = None
    weight: float = Field(default=1.0, ge=0.0, le=100.0)

    @property
    def analysis(self) -> str:
        return self.metric.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.metric.split(".", 1)[1]

    def passes(self, value: float) -> bool | None:
        """Whether ``value`` keeps the limit (None: no limit or no value)."""
        if self.limit is None or not math.isfinite(value):
            return None
        return value <= self.limit if self.better == "lower" else value >= self.limit

    @field_validator("label")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

"""Operating conditions of heat sources that a plan or scene sets per network feature."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OperatingPoint(BaseModel):
    """How hard a cable or heat pipe runs. Unset values fall back to the defaults per kind.

    watts_per_m         heat loss of a cable or pipe [W/m] (peak of its load profile)
    fluid_temperature   district-heating fluid temperature [degC] (supply or return pipe)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    watts_per_m: float | None = Field(default=None, ge=0.0, le=1000.0)
    fluid_temperature: float | None = Field(default=None, ge=0.0, le=150.0)

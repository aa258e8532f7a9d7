"""Water nuisance (wateroverlast) stress test: where the water of a design storm ends up on the twin.

The Dutch stress test asks where a heavy storm (70 mm in 2 h; 140 mm as the extreme one) leaves
water on the street, not when. So:

1. **Net rain per cell.** Each surface type (``rules.water.losses``: BGT paved, unpaved/green,
   water, roof) loses rain at its infiltration plus sewer-inflow rate while it rains; per time step
   ``dt`` of the hyetograph a cell keeps ``max(0, rain − rate · dt)``.
   Under a tree crown the first ``rules.water.trees.interception_mm`` stay on the leaves.
2. **Roofs.** Buildings are walls for the water on the ground. The net rain of a roof pours over its
   edge: evenly onto the ground cells that touch the footprint (8 around).
3. **Retention.** A facility a plan adds (``add_retention``) is a basin of its volume below the
   ground in its area (``volume / area`` deep); water in it up to the ground is stored, not nuisance.
4. **Ponding.** Fill-and-spill over the DTM (``engines.fill_spill``); open water and the scene border
   are outlets. The water surface of each pond is flat.

Outputs: ``water_depth`` [m] above maaiveld (0 on dry ground, NaN on buildings and DTM gaps), flooded area above
the nuisance and serious depths, buildings with water above ``entrance_m`` against their facade
(findings, by BAG id) and the volume balance: rain = losses + ponded + retention + outflow (+ rain on
DTM gaps, not modelled), to rounding. The DTM is the twin's: without a DTM source it is the scene's
ground model, and the result says which (``details["terrain"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from rasterio.features import rasterize
from scipy import ndimage

from stadstwin.analyses.heat_inputs import canopy_height, surface_codes
from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.analyses.settings import number
from stadstwin.engines.fill_spill import fill_and_spill
from stadstwin.errors import InputError
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Storm:
    """A hyetograph: rain per time step [mm] and the step [h]."""

    name: str
    rain_mm: tuple[float, ...]
    step_h: float

    @property
    def total_mm(self) -> float:
        return float(sum(self.rain_mm))

    def net_mm(self, capacity_mm_h: float, interception_mm: float = 0.0) -> float:
        """Rain [mm] a surface losing ``capacity_mm_h`` keeps: Σ max(0, rain − capacity · step), after a
        crown above it has held the first ``interception_mm``."""
        kept = 0.0
        held = interception_mm
        for r in self.rain_mm:
            through = max(0.0, r - held)
            held = max(0.0, held - r)
            kept += max(0.0, through - capacity_mm_h * self.step_h)
        return kept


def parse_storm(settings: dict[str, Any], rules: Rules) -> Storm:
    """The storm of ``settings``: a hyetograph (``hyetograph`` mm per ``step_minutes``) or a named block storm."""
    with_defaults(settings, dict.fromkeys(("storm", "hyetograph", "step_minutes")), "water")
    hyetograph = settings.get("hyetograph")
    if hyetograph is not None:
        if not isinstance(hyetograph, (list, tuple)) or not hyetograph:
            raise InputError("hyetograph must be a list of rain depths [mm] per time step", feature="hyetograph")
        rain = tuple(number(v, "hyetograph", "water") for v in hyetograph)
        if not all(np.isfinite(rain)) or min(rain) < 0.0:
            raise InputError(f"hyetograph depths must be finite and ≥ 0 mm, got {list(rain)}", feature="hyetograph")
        step = number(settings.get("step_minutes", 5.0), "step_minutes", "water")
        if not 0.0 < step <= 1440.0:
            raise InputError(f"step_minutes must be in (0, 1440], got {step}", feature="step_minutes")
        return Storm("hyetograph", rain, step / 60.0)
    name = str(settings.get("storm") or "t70")
    storm = rules.water.storms.get(name)
    if storm is None:
        raise InputError(f"unknown design storm {name!r}", feature="storm",
                         hint=f"choose one of {', '.join(sorted(rules.water.storms))} or give a hyetograph")
    return Storm(name, (storm.total_mm,), storm.duration_h)


def _building_labels(twin: Twin) -> np.ndarray:
    """Index + 1 of the building whose footprint holds each cell centre (0 outside buildings)."""
    if not len(twin.buildings):
        return np.zeros(twin.dtm.shape, dtype=np.int32)
    return rasterize(((f, i + 1) for i, f in enumerate(twin.buildings.footprint)), out_shape=twin.dtm.shape,
                     transform=twin.dtm.transform, fill=0, dtype="int32")


def _rings(labels: np.ndarray, ground: np.ndarray) -> list[np.ndarray]:
    """Per building: flat indices of the ground cells that touch its footprint (8 around)."""
    rings = []
    cols = labels.shape[1]
    for label, window in enumerate(ndimage.find_objects(labels), start=1):
        if window is None:
            rings.append(np.empty(0, dtype=np.int64))
            continue
        rows = slice(max(window[0].start - 1, 0), window[0].stop + 1)
        columns = slice(max(window[1].start - 1, 0), window[1].stop + 1)
        inside = labels[rows, columns] == label
        edge = ndimage.binary_dilation(inside, _EIGHT) & ground[rows, columns]
        r, c = np.nonzero(edge)
        rings.append((r + rows.start) * cols + c + columns.start)
    return rings


def _retention_basins(twin: Twin, ground: np.ndarray) -> tuple[np.ndarray, float]:
    """(how deep [m] each cell lies below the ground as part of a retention basin, total volume [m³])."""
    drop = np.zeros(ground.shape)
    total = 0.0
    cx, cy = twin.dtm.cell_centres()
    area = twin.dtm.cell_size**2
    for footprint, volume, rid in zip(twin.retention.footprint, twin.retention.volume, twin.retention.retention_id):
        cells = shapely.contains_xy(footprint, cx, cy) & ground
        if not cells.any():
            raise InputError(f"retention {rid} holds no ground cell of the twin", feature=str(rid),
                             hint="draw its area over open ground inside the scene")
        drop[cells] += volume / (cells.sum() * area)
        total += float(volume)
    return drop, total


def water_nuisance(twin: Twin, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """Stress test of one design storm on ``twin`` (module doc): depth map, flooded area, wet entrances."""
    storm = parse_storm(settings, rules)
    water_rules = rules.water
    depths = water_rules.depths
    cell_area = twin.dtm.cell_size**2
    labels = _building_labels(twin)
    buildings = labels > 0
    dem = twin.dtm.values().astype(np.float64)
    known = np.isfinite(dem)
    if not known.any():
        raise InputError("the DTM holds no heights", feature=twin.name, hint="check the scene's terrain sources")
    ground = known & ~buildings
    codes = surface_codes(twin, buildings)
    crowns = (canopy_height(twin) > 0.0).astype(np.int64)
    net = np.zeros((2, len(Surface)))  # m³ per cell, without and under a crown
    capacity = np.zeros(len(Surface))
    for surface in Surface:
        capacity[surface] = water_rules.losses.of(surface).capacity_mm_h
        for under in (0, 1):
            held = water_rules.trees.interception_mm * under
            net[under, surface] = storm.net_mm(capacity[surface], held) / 1000.0 * cell_area
    kept = net[crowns, codes]
    rain_cell = storm.total_mm / 1000.0 * cell_area
    water = np.where(ground, kept, 0.0)
    roofs = np.bincount(labels.ravel(), weights=np.where(buildings, kept, 0.0).ravel(),
                        minlength=len(twin.buildings) + 1)[1:]
    rings = _rings(labels, ground)
    flat_water = water.ravel()
    unrouted = 0.0
    for volume, ring in zip(roofs, rings):
        if len(ring):
            flat_water[ring] += volume / len(ring)
        else:
            unrouted += volume  # a building without open ground beside it inside the twin
    drop, retention_volume = _retention_basins(twin, ground)
    surface_dem = np.where(ground, dem - drop, np.nan)
    depth, outflow = fill_and_spill(surface_dem, water, cell_area, ground & (codes == int(Surface.WATER)))
    nuisance = np.clip(depth - drop, 0.0, None)  # above the ground around the basin
    retained = float((depth - nuisance).sum() * cell_area)
    ponded = float(nuisance.sum() * cell_area)
    modelled = ground | buildings
    rain = rain_cell * float(dem.size)
    lost = float((rain_cell - kept)[modelled].sum())
    not_modelled = rain_cell * float((~modelled).sum()) + unrouted
    balance = rain - lost - ponded - retained - float(outflow) - not_modelled
    findings, wet = _wet_entrances(twin, nuisance, rings, depths.entrance_m, depths.serious_m)
    metrics = {
        "storm_mm": storm.total_mm,
        "max_depth_m": float(nuisance.max()),
        "flooded_area_10cm_m2": float((nuisance > depths.nuisance_m).sum() * cell_area),
        "flooded_area_30cm_m2": float((nuisance > depths.serious_m).sum() * cell_area),
        "buildings_wet_entrance": float(wet),
        "rain_m3": rain,
        "lost_m3": lost,
        "ponded_m3": ponded,
        "retention_stored_m3": retained,
        "retention_volume_m3": retention_volume,
        "outflow_m3": float(outflow),
        "not_modelled_m3": not_modelled,
        "volume_balance_relative": abs(balance) / max(rain, 1e-12),
    }
    shown = np.where(ground, nuisance, np.nan)
    raster = Raster(shown, twin.dtm.transform, twin.dtm.crs, nodata=None)
    details = {"storm": storm.name, "hyetograph_mm": list(storm.rain_mm), "step_h": storm.step_h,
               "losses_mm_h": {s.name.lower(): float(capacity[s]) for s in Surface},
               "thresholds_m": {"nuisance": depths.nuisance_m, "serious": depths.serious_m,
                                "entrance": depths.entrance_m},
               "interception_mm": water_rules.trees.interception_mm}
    return AnalysisResult("water", metrics, findings, {"water_depth": raster}, details,
                          {"storm": storm.name, "hyetograph": list(storm.rain_mm), "step_minutes": storm.step_h * 60})


def _wet_entrances(twin: Twin, depth: np.ndarray, rings: list[np.ndarray], entrance: float,
                   serious: float) -> tuple[list[dict[str, Any]], int]:
    """GeoJSON findings of buildings with more than ``entrance`` m of water against the facade, and their count."""
    findings = []
    flat = depth.ravel()
    cx, cy = (c.ravel() for c in twin.dtm.cell_centres())
    for i, ring in enumerate(rings):
        if not len(ring):
            continue
        worst = ring[np.argmax(flat[ring])]
        deepest = float(flat[worst])
        if deepest <= entrance:
            continue
        x, y = cx[worst], cy[worst]
        bag = str(twin.buildings.source_id[i])
        findings.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {"check": "wet_entrance", "severity": "limit" if deepest > serious else "warning",
                           "building": bag, "depth_m": round(deepest, 3),
                           "message": f"{deepest:.2f} m of water against building {bag}"},
        })
    return findings, len(findings)

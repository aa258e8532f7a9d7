"""Shadow, sky view factor, sun hours and tiling against analytic values, UMEP and numpy."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pvlib import solarposition

from stadstwin.crs import rd_to_wgs84
from stadstwin.engines.sky_view import sky_view
from stadstwin.errors import InputError
from stadstwin.shade import shadow_mask, sky_view_factor, sun_hours, sun_positions

umep_shadowing = pytest.importorskip("umep.util.shadowingfunctions")

AMSTERDAM_RD = (121000.0, 487000.0)


def city(seed: int, n: int = 120, slope: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Random blocks and trees on ground that may slope; heights float32-exact as in a GeoTIFF."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:n, 0:n]
    ground = 2.0 + slope * (rows + 0.5 * cols) + rng.uniform(0.0, 0.3, (n, n))
    dsm = ground.copy()
    for _ in range(n // 6):
        r, c = rng.integers(0, n - 4, 2)
        h, w = rng.integers(3, 16, 2)
        dsm[r : r + h, c : c + w] = ground[r : r + h, c : c + w].max() + rng.uniform(4.0, 25.0)
    canopy = np.zeros((n, n))
    is_ground = dsm == ground
    for _ in range(n // 8):
        r, c = rng.integers(3, n - 3, 2)
        radius = int(rng.integers(1, 4))
        window = (slice(r - radius, r + radius + 1), slice(c - radius, c + radius + 1))
        canopy[window] = np.where(is_ground[window], rng.uniform(5.0, 14.0), canopy[window])
    return dsm.astype(np.float32).astype(np.float64), canopy.astype(np.float32).astype(np.float64)


def umep_mask(dsm, canopy, azimuth, altitude, transmissivity=0.03, cell_size=1.0):
    """UMEP's shadowingfunction_20, prepared and combined as SOLWEIG does."""
    trunk = canopy * 0.25
    vegdem = np.where(canopy > 0, canopy + dsm, 0.0)
    vegdem2 = np.where(trunk > 0, trunk + dsm, 0.0)
    bush = np.logical_not(vegdem2 * vegdem) * vegdem
    amax = max(dsm.max(), vegdem.max()) - dsm.min()
    with np.errstate(divide="ignore", over="ignore"):
        out = umep_shadowing.shadowingfunction_20(
            dsm, vegdem, vegdem2, azimuth, altitude, 1.0 / cell_size, amax, bush, 1
        )
    return out["sh"] - (1.0 - out["vegsh"]) * (1.0 - transmissivity)


# --- shadow -------------------------------------------------------------------------------------


def analytic_box_shadow(points_x, points_y, box, height, azimuth, altitude):
    """True where the segment from a ground point toward the sun, up to the height of the box,
    crosses the box footprint (Liang-Barsky clipping); coordinates in cells, y north."""
    x0, x1, y0, y1 = box
    length = height / math.tan(math.radians(altitude))
    ux = math.sin(math.radians(azimuth)) * length
    uy = math.cos(math.radians(azimuth)) * length
    t_lo = np.zeros_like(points_x)
    t_hi = np.ones_like(points_x)
    for d, p, lo, hi in ((ux, points_x, x0, x1), (uy, points_y, y0, y1)):
        if abs(d) < 1e-12:
            inside = (p >= lo) & (p <= hi)
            t_hi = np.where(inside, t_hi, -1.0)
            continue
        a, b = (lo - p) / d, (hi - p) / d
        t_lo = np.maximum(t_lo, np.minimum(a, b))
        t_hi = np.minimum(t_hi, np.maximum(a, b))
    return t_lo < t_hi


@pytest.mark.parametrize(
    "azimuth, altitude", [(135.0, 30.0), (200.0, 45.0), (260.0, 20.0), (30.0, 35.0), (90.0, 40.0)]
)
def test_box_shadow_matches_analytic_outline(azimuth, altitude):
    n, height = 100, 12.0
    dsm = np.zeros((n, n))
    r0, r1, c0, c1 = 40, 60, 42, 58
    dsm[r0:r1, c0:c1] = height
    mask = shadow_mask(dsm, 1.0, azimuth, altitude)
    box = (c0, c1, -r1, -r0)  # x east, y north, cell edges
    rows, cols = np.mgrid[0:n, 0:n]
    x, y = cols + 0.5, -(rows + 0.5)
    expected = analytic_box_shadow(x, y, box, height, azimuth, altitude)
    expected[r0:r1, c0:c1] = False  # the roof itself is lit
    # cells farther than ~1.5 cells from the analytic outline must agree exactly
    offsets = np.linspace(-1.5, 1.5, 7)
    same = np.ones((n, n), bool)
    for dx in offsets:
        for dy in offsets:
            near = analytic_box_shadow(x + dx, y + dy, box, height, azimuth, altitude)
            near[r0:r1, c0:c1] = expected[r0:r1, c0:c1]
            same &= near == expected
    shaded = mask == 0.0
    assert np.array_equal(shaded[same], expected[same])
    area = (
        height
        / math.tan(math.radians(altitude))
        * (16 * abs(math.cos(math.radians(azimuth))) + 20 * abs(math.sin(math.radians(azimuth))))
    )
    # the kernel samples obstacle cells at their centres (as UMEP does), so a ray that only clips a
    # roof corner misses it: the shadow loses a thin band along its sides, never gains cells
    assert not (shaded & ~expected).any()
    assert shaded.sum() == pytest.approx(area, rel=0.1)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    azimuth=st.floats(0.0, 359.9),
    altitude=st.floats(5.0, 80.0),
    slope=st.sampled_from([0.0, 0.05]),
    transmissivity=st.sampled_from([0.03, 0.5]),
)
def test_agrees_with_umep_shadowingfunction_20(seed, azimuth, altitude, slope, transmissivity):
    dsm, canopy = city(seed, slope=slope)
    ours = shadow_mask(dsm, 1.0, azimuth, altitude, canopy=canopy, transmissivity=transmissivity)
    theirs = umep_mask(dsm, canopy, azimuth, altitude, transmissivity)
    agree = np.isclose(ours, theirs, atol=1e-6).mean()
    # UMEP compares float32-rounded ray heights; with float32-exact heights we agree everywhere
    # except where a ray grazes an obstacle within float32 rounding (none in practice).
    assert agree >= 0.995


def test_half_metre_cells_agree_with_umep():
    dsm, canopy = city(7, n=100)
    ours = shadow_mask(dsm, 0.5, 160.0, 35.0, canopy=canopy)
    theirs = umep_mask(dsm, canopy, 160.0, 35.0, cell_size=0.5)
    assert np.isclose(ours, theirs, atol=1e-6).mean() >= 0.995


def test_crown_shade_is_fractional_and_trunk_zone_lets_low_sun_through():
    dsm = np.zeros((100, 40))
    canopy = np.zeros((100, 40))
    canopy[78:83, 18:23] = 10.0
    trunk = np.where(canopy > 0, 4.0, 0.0)
    high = shadow_mask(dsm, 1.0, 180.0, 85.0, canopy=canopy, trunk=trunk, transmissivity=0.1)
    assert high[80, 20] == pytest.approx(0.1)
    assert high[5, 5] == 1.0
    # sun 10° high in the south: next to the crown the ray passes the trunk zone (< 4 m) -> lit
    low = shadow_mask(dsm, 1.0, 180.0, 10.0, canopy=canopy, trunk=trunk, transmissivity=0.1)
    assert low[77, 20] == 1.0
    # 30 m north of the crown the ray is 5.3-6.0 m high, inside the crown -> crown shade
    assert low[48, 20] == pytest.approx(0.1)
    # 70 m north it passes over the crown top (> 12 m) -> lit
    assert low[8, 20] == 1.0


def test_sun_below_horizon_shades_everything_and_flat_ground_is_lit():
    flat = np.full((20, 30), 3.0)
    assert (shadow_mask(flat, 1.0, 100.0, -2.0) == 0.0).all()
    assert (shadow_mask(flat, 1.0, 100.0, 20.0) == 1.0).all()
    assert shadow_mask(flat, 1.0, 100.0, 20.0).dtype == np.float32


def test_bad_input_is_refused():
    dsm = np.zeros((10, 10))
    with pytest.raises(InputError, match="NaN"):
        shadow_mask(np.full((5, 5), np.nan), 1.0, 180.0, 30.0)
    with pytest.raises(InputError, match="canopy raster has shape"):
        shadow_mask(dsm, 1.0, 180.0, 30.0, canopy=np.zeros((3, 3)))
    with pytest.raises(InputError, match="trunk zone is higher"):
        shadow_mask(dsm, 1.0, 180.0, 30.0, canopy=np.ones((10, 10)), trunk=np.full((10, 10), 2.0))
    with pytest.raises(ValueError, match="cell_size"):
        shadow_mask(dsm, 0.0, 180.0, 30.0)
    with pytest.raises(ValueError, match="transmissivity"):
        shadow_mask(dsm, 1.0, 180.0, 30.0, transmissivity=1.5)


# --- sky view factor ----------------------------------------------------------------------------


@pytest.mark.parametrize("height, width", [(10, 11), (20, 21), (10, 31), (30, 15)])
def test_svf_canyon_centre(height, width):
    dsm = np.zeros((199, 160))
    left = 80 - width // 2
    dsm[:, :left] = height
    dsm[:, left + width :] = height
    svf = sky_view_factor(dsm, 1.0)
    assert svf[99, 80] == pytest.approx(math.cos(math.atan(2 * height / width)), abs=0.02)
    # the same canyon running east-west
    svf_t = sky_view_factor(dsm.T.copy(), 1.0)
    assert svf_t[80, 99] == pytest.approx(math.cos(math.atan(2 * height / width)), abs=0.02)


@pytest.mark.parametrize("distance", [1.5, 2.5, 5.5, 10.5, 30.5])
def test_svf_single_wall(distance):
    dsm = np.zeros((199, 199))
    dsm[:, :60] = 10.0
    column = int(60 + distance - 0.5)
    expected = (1.0 + math.cos(math.atan(10.0 / distance))) / 2.0
    assert sky_view_factor(dsm, 1.0)[99, column] == pytest.approx(expected, abs=0.02)


def svf_reference(ground, obstacle, cell_size, n_directions):
    """Plain numpy: per cell and direction, brute-force max slope along the same digital line."""
    n_rows, n_cols = ground.shape
    out = np.zeros(ground.shape)
    for d in range(n_directions):
        az = (d + 0.5) * 2 * math.pi / n_directions
        d_row, d_col = -math.cos(az), math.sin(az)
        if abs(d_col) >= abs(d_row):
            n_u, n_v, sign, slope, ds = (
                n_cols,
                n_rows,
                np.sign(d_col),
                d_row / abs(d_col),
                1 / abs(d_col),
            )
        else:
            n_u, n_v, sign, slope, ds = (
                n_rows,
                n_cols,
                np.sign(d_row),
                d_col / abs(d_row),
                1 / abs(d_row),
            )
        u_all = np.arange(n_u)
        shift = np.floor(slope * u_all + 0.5).astype(int)
        for r in range(n_rows):
            for c in range(n_cols):
                u0, v0 = (c, r) if abs(d_col) >= abs(d_row) else (r, c)
                m = v0 - shift[u0]
                ahead = (u_all - u0) * sign > 0
                v = m + shift
                ok = ahead & (v >= 0) & (v < n_v)
                uu, vv = u_all[ok], v[ok]
                heights = obstacle[vv, uu] if abs(d_col) >= abs(d_row) else obstacle[uu, vv]
                dist = (np.abs(uu - u0) - 0.5) * ds * cell_size
                tan_h = max(0.0, ((heights - ground[r, c]) / dist).max()) if dist.size else 0.0
                out[r, c] += 1.0 / (1.0 + tan_h**2) / n_directions
    return out


def test_svf_kernel_matches_brute_force_reference():
    dsm, canopy = city(3, n=28)
    obstacle = np.maximum(dsm, dsm + canopy)
    ours = sky_view(dsm, obstacle, 1.0, 12, 2)
    np.testing.assert_allclose(ours, svf_reference(dsm, obstacle, 1.0, 12), atol=1e-5)


def test_svf_range_flat_and_canopy():
    dsm, canopy = city(11, n=80)
    svf = sky_view_factor(dsm, 1.0, canopy=canopy)
    assert svf.dtype == np.float32
    assert (svf >= 0.0).all() and (svf <= 1.0).all()
    assert (sky_view_factor(dsm, 1.0) >= svf - 1e-6).all()  # crowns only take sky away
    assert np.allclose(sky_view_factor(np.full((30, 30), 5.0), 1.0), 1.0)


# --- sun hours and tiling -----------------------------------------------------------------------


def test_sun_hours_on_open_ground_equal_day_length():
    flat = np.zeros((20, 20))
    hours = sun_hours(flat, 1.0, AMSTERDAM_RD, date(2026, 6, 21), step_minutes=5)
    lat, lon = rd_to_wgs84(AMSTERDAM_RD[0] + 10.0, AMSTERDAM_RD[1] - 10.0)
    day = solarposition.sun_rise_set_transit_spa(
        pd.DatetimeIndex(["2026-06-21 12:00"], tz="UTC"), float(lat), float(lon)
    )
    length = (day["sunset"].iloc[0] - day["sunrise"].iloc[0]).total_seconds() / 3600.0
    assert np.allclose(hours, hours[0, 0])
    assert hours[0, 0] == pytest.approx(length, abs=5 / 60 + 0.02)


def test_sun_hours_is_the_sum_of_shadow_masks():
    dsm, canopy = city(5, n=50)
    lat, lon = rd_to_wgs84(AMSTERDAM_RD[0] + 25.0, AMSTERDAM_RD[1] - 25.0)
    days = [date(2026, 7, 1), date(2026, 7, 2)]
    azimuths, altitudes = sun_positions(float(lat), float(lon), days, 30)
    expected = (
        sum(
            shadow_mask(dsm, 1.0, a, h, canopy=canopy).astype(float)
            for a, h in zip(azimuths, altitudes)
        )
        * 0.5
    )
    hours = sun_hours(dsm, 1.0, AMSTERDAM_RD, days, step_minutes=30, canopy=canopy)
    np.testing.assert_allclose(hours, expected, rtol=1e-5)
    assert hours.max() <= 2 * 24


@settings(max_examples=8, deadline=None)
@given(
    tile_size=st.integers(12, 70),
    seed=st.integers(0, 1000),
    azimuth=st.floats(0.0, 359.9),
    altitude=st.floats(4.0, 70.0),
)
def test_tiled_shadow_equals_untiled(tile_size, seed, azimuth, altitude):
    dsm, canopy = city(seed, n=64, slope=0.03)
    whole = shadow_mask(dsm, 1.0, azimuth, altitude, canopy=canopy)
    tiled = shadow_mask(dsm, 1.0, azimuth, altitude, canopy=canopy, tile_size=tile_size)
    assert np.array_equal(whole, tiled)


@settings(max_examples=4, deadline=None)
@given(tile_size=st.integers(10, 40))
def test_tiled_sun_hours_equal_untiled(tile_size):
    dsm, canopy = city(tile_size, n=48)
    whole = sun_hours(dsm, 1.0, AMSTERDAM_RD, date(2026, 8, 1), step_minutes=60, canopy=canopy)
    tiled = sun_hours(
        dsm,
        1.0,
        AMSTERDAM_RD,
        date(2026, 8, 1),
        step_minutes=60,
        canopy=canopy,
        tile_size=tile_size,
    )
    assert np.array_equal(whole, tiled)


def reference_mask(dsm, canopy, azimuth, altitude, transmissivity, cell_size=1.0):
    """The shadow definition of ``stadstwin.engines.shadow`` in plain numpy: every step of every ray
    to the raster edge (no stop at the highest obstacle, no skipping), one shifted raster per step."""
    from stadstwin.engines.shadow import ray_steps

    n_rows, n_cols = dsm.shape
    crown = np.where(canopy > 0.0, dsm + canopy, -np.inf)
    stem = np.where(canopy * 0.25 > 0.0, dsm + canopy * 0.25, -np.inf)
    d_row, d_col, rise = ray_steps(math.radians(azimuth), math.radians(altitude), cell_size, max(dsm.shape) + 1)
    building = np.zeros(dsm.shape, bool)
    in_crown = (crown > dsm) & ~(stem > dsm)
    for k in range(1, rise.size):
        dr, dc = int(d_row[k]), int(d_col[k])
        rows = slice(max(0, -dr), min(n_rows, n_rows - dr))
        cols = slice(max(0, -dc), min(n_cols, n_cols - dc))
        ahead = (slice(rows.start + dr, rows.stop + dr), slice(cols.start + dc, cols.stop + dc))
        z0 = dsm[rows, cols]
        building[rows, cols] |= dsm[ahead] - rise[k] > z0
        in_crown[rows, cols] |= (crown[ahead] - rise[k - 1] > z0) & ~(stem[ahead] - rise[k] > z0)
    return np.where(building, 0.0, np.where(in_crown, transmissivity, 1.0))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(8, 70),
    tower=st.floats(0.0, 150.0),
    azimuth=st.floats(0.0, 359.9),
    altitude=st.floats(0.3, 85.0),
    slope=st.sampled_from([0.0, 0.2, -0.2]),
)
def test_shadow_is_exactly_the_full_ray_walk(seed, n, tower, azimuth, altitude, slope):
    # the kernel stops rays above the highest obstacle and jumps stretches above the local tops;
    # a tower makes the global top useless, so the jumps decide, and the result must not change
    dsm, canopy = city(seed, n=n, slope=slope)
    rng = np.random.default_rng(seed)
    r, c = rng.integers(0, n, 2)
    dsm[r : r + 3, c : c + 2] += tower
    ours = shadow_mask(dsm, 0.5, azimuth, altitude, canopy=canopy, transmissivity=0.03)
    expected = reference_mask(dsm, canopy, azimuth, altitude, 0.03, cell_size=0.5)
    assert np.array_equal(ours, expected.astype(np.float32))


def test_sun_hours_with_a_tower_are_exactly_the_summed_full_walks():
    dsm, canopy = city(11, n=90)
    dsm[40:44, 50:53] += 120.0
    lat, lon = rd_to_wgs84(AMSTERDAM_RD[0] + 45.0, AMSTERDAM_RD[1] - 45.0)
    day = date(2026, 6, 21)
    azimuths, altitudes = sun_positions(float(lat), float(lon), day, 20)
    total = np.zeros(dsm.shape)
    for a, h in zip(azimuths, altitudes):
        total += reference_mask(dsm, canopy, a, min(h, 89.9999), 0.03)
    hours = sun_hours(dsm, 1.0, AMSTERDAM_RD, day, step_minutes=20, canopy=canopy)
    assert np.array_equal(hours, (total * (20 / 60)).astype(np.float32))

"""Mean radiant temperature of a standing person, SOLWEIG style (Lindberg et al. 2008, 2016).

The person receives shortwave (K) and longwave (L) radiation from above, below and four sides:

    Sstr = a_k (f_cyl K_beam + f_up (K↓ + K↑) + 4 f_side K_side)
         + a_l (f_up (L↓ + L↑) + 4 f_side L_side),
    Tmrt = (Sstr / (a_l σ))^¼ − 273.15,

with, per cell (S shadow 1 sunlit … 0 shaded, Ψ sky view factor, η sun altitude, I direct normal
and D diffuse horizontal irradiance, G = I sin η + D global horizontal):

    K_beam = I S cos η                     direct beam on the upright cylinder (SOLWEIG 2016)
    K↓     = I S sin η + D Ψ + α_w (1 − Ψ)(G (1 − f_sh) + D f_sh)
    K↑     = α_g (I S sin η + D Ψ + α_w (1 − Ψ)(G (1 − f_sh) + D f_sh))
    K_side = ½ (D Ψ + α_w (1 − Ψ)(G (1 − f_sh) + D f_sh)) + ½ K↑
    L↓     = Ψ ε_sky σ Ta⁴ + (1 − Ψ) ε_w σ (Ta + ΔT_w)⁴ + (1 − Ψ)(1 − ε_w) ε_sky σ Ta⁴
    L↑     = ε_g σ (Ta + S ΔT_g)⁴
    L_side = ½ L↓ + ½ L↑

Simplifications against full SOLWEIG, all deliberate and local to one cell:

- No wall-aspect scheme: the four side fluxes are equal; walls are seen as a fraction 1 − Ψ of the
  upper half-space without direction, and their shaded fraction f_sh is a constant (default ½)
  instead of SOLWEIG's cylindric-wedge estimate.
- No ground view factor: the ground the person sees is the cell itself (its albedo, emissivity,
  temperature and shadow), where SOLWEIG integrates the surrounding ground.
- Isotropic diffuse sky only (no Perez anisotropic sky) and one combined Ψ for buildings and
  vegetation (no separate vegetation SVFs, no shortwave transmission through crowns beyond what
  the shadow fraction S carries).
- Surface temperatures are instantaneous: SOLWEIG's TsWaveDelay thermal inertia is left out.
  Sunlit ground is ΔT_g warmer than the air and shaded ground is at air temperature; ΔT_g
  and the wall excess ΔT_w come from :func:`surface_temperature_excess` (SOLWEIG's
  ground-temperature wave) or from the caller.
- As in SOLWEIG, L↑ is the ground's own emission; its reflection (1 − ε_g) L↓ is left out.
- Cloud cover enters L↓ through the Crawford & Duchon (1999) blend ε = c + (1 − c) ε_clear with
  the cloud fraction c, as SOLWEIG does with 1 − clearness index.

Definition of K↑: the ground reflects all shortwave that reaches it, direct beam included
(α_g (I S sin η + …)). Against the solweig package (0.1.0b96, isotropic sky) on flat open ground
this agrees within 0.6 K at night and 1.2 K under diffuse-only sky; in full sun in Delft (15 July,
12–15 h, I = 700, D = 120 W/m²) it is 3.7–4.0 K warmer because solweig's K↑ there holds only α_g D.
The difference is that one term: solweig's absorbed flux plus a_k (f_up + 2 f_side) α_g I sin η gives
this model's Tmrt to 0.3 K (``tests/test_heat.py``). The beam reflected by sunlit pavement does reach
a standing person, so the term is kept. In a north–south street canyon (H/W = 1, 12 m) at the same
moments the shadows equal solweig's cell for cell; shaded cells are 0.3–1.6 K cooler than solweig's,
sunlit cells 2.7–3.3 K warmer, the open-ground gap again (walls from this model's own wall wave).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

STEFAN_BOLTZMANN = 5.67e-8  # W/(m²·K⁴), the SOLWEIG value


@njit(cache=True, nogil=True)
def sky_emissivity(ta: float, rh: float, cloud_fraction: float) -> float:
    """Effective sky emissivity [-] at air temperature ``ta`` [°C] and humidity ``rh`` [%].

    Clear sky after Prata (1996) as in SOLWEIG (vapour pressure by the Magnus formula), blended
    towards 1 with ``cloud_fraction`` [0–1] after Crawford & Duchon (1999).
    """
    tk = ta + 273.15
    vapour_hpa = 6.107 * 10.0 ** (7.5 * ta / (237.3 + ta)) * rh / 100.0
    water = 46.5 * vapour_hpa / tk
    clear = 1.0 - (1.0 + water) * math.exp(-math.sqrt(1.2 + 3.0 * water))
    return cloud_fraction + (1.0 - cloud_fraction) * clear


@njit(cache=True, nogil=True)
def surface_temperature_excess(
    tg_k: float,
    t_start: float,
    altitude_max: float,
    day_fraction: float,
    sunrise_fraction: float,
    tmax_fraction: float,
    clearness_correction: float,
) -> float:
    """Sunlit surface temperature above air temperature [K], SOLWEIG's ground-temperature wave.

    Amplitude TgK · altmax + Tstart (``tg_k`` [K per degree of the day's highest sun altitude
    ``altitude_max``, given in radians], ``t_start`` [K]), following a quarter sine from sunrise
    to the hour of maximum surface temperature; times as fractions of the local solar day.
    ``clearness_correction`` (≤ 1) scales it down under cloud. Never negative; 0 before sunrise.
    """
    if day_fraction <= sunrise_fraction:
        return 0.0
    amplitude = tg_k * math.degrees(altitude_max) + t_start
    phase = (day_fraction - sunrise_fraction) / (tmax_fraction - sunrise_fraction)
    excess = amplitude * math.sin(phase * math.pi / 2.0) * min(clearness_correction, 1.0)
    return max(excess, 0.0)


@njit(cache=True, nogil=True, parallel=True)
def mean_radiant_temperature_grid(
    shadow: np.ndarray,
    svf: np.ndarray,
    ground_albedo: np.ndarray,
    ground_emissivity: np.ndarray,
    ground_excess: np.ndarray,
    ta: float,
    rh: float,
    direct_normal: float,
    diffuse: float,
    altitude: float,
    wall_albedo: float,
    wall_emissivity: float,
    wall_excess: float,
    wall_shaded_fraction: float,
    cloud_fraction: float,
    absorption_k: float,
    absorption_l: float,
    f_up: float,
    f_side: float,
    f_cyl: float,
) -> np.ndarray:
    """Tmrt [°C] per cell of 2-D rasters (see the module docstring for the balance).

    ``shadow`` 1 sunlit … 0 shaded; ``svf`` [0–1]; ground albedo, emissivity and sunlit
    temperature excess [K] per cell; ``ta`` [°C], ``rh`` [%], ``direct_normal`` and ``diffuse``
    [W/m²]; ``altitude`` sun altitude [rad] (no direct beam at or below 0); wall properties,
    wall excess [K], the walls' shaded fraction and the cloud fraction are scalars; absorptivities
    and angular factors of the person.
    """
    rows, cols = shadow.shape
    out = np.empty((rows, cols))
    tk = ta + 273.15
    sky = sky_emissivity(ta, rh, cloud_fraction) * STEFAN_BOLTZMANN * tk**4
    wall = wall_emissivity * STEFAN_BOLTZMANN * (tk + wall_excess) ** 4
    beam = direct_normal if altitude > 0.0 else 0.0
    beam_horizontal = beam * math.sin(altitude) if altitude > 0.0 else 0.0
    beam_vertical = beam * math.cos(altitude)
    wall_reflected = wall_albedo * (
        (beam_horizontal + diffuse) * (1.0 - wall_shaded_fraction) + diffuse * wall_shaded_fraction
    )
    for r in prange(rows):
        for c in range(cols):
            s = shadow[r, c]
            psi = svf[r, c]
            sky_and_walls = diffuse * psi + (1.0 - psi) * wall_reflected
            k_down = beam_horizontal * s + sky_and_walls
            k_up = ground_albedo[r, c] * k_down
            k_side = 0.5 * sky_and_walls + 0.5 * k_up
            l_down = psi * sky + (1.0 - psi) * wall + (1.0 - psi) * (1.0 - wall_emissivity) * sky
            l_up = ground_emissivity[r, c] * STEFAN_BOLTZMANN * (tk + s * ground_excess[r, c]) ** 4
            l_side = 0.5 * (l_down + l_up)
            absorbed = absorption_k * (
                f_cyl * beam_vertical * s + f_up * (k_down + k_up) + 4.0 * f_side * k_side
            ) + absorption_l * (f_up * (l_down + l_up) + 4.0 * f_side * l_side)
            out[r, c] = (absorbed / (absorption_l * STEFAN_BOLTZMANN)) ** 0.25 - 273.15
    return out

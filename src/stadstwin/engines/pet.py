"""Physiological equivalent temperature (PET) by the MEMI two-node model, numba kernels.

The Munich Energy-balance Model for Individuals (Höppe 1999) in the corrected steady-state form of
Walther & Goestchel (2018), as pythermalcomfort's ``pet_steady`` implements it:

1. Solve the three steady heat balances (core, skin, clothing) of the person in the actual
   environment for core, skin and clothing temperature (Newton iteration, finite-difference
   Jacobian, backtracking on the residual).
2. Keep those three temperatures and find the air temperature of the reference room (Tmrt = Ta,
   wind 0.1 m/s, vapour pressure 12 hPa, 0.9 clo, 80 W activity) at which the whole-body balance
   closes again: that air temperature is PET [°C].

Person parameters travel as one float64 array built by :func:`person_parameters`. A point whose
iteration does not converge gets NaN.

Where the air's vapour pressure reaches the skin's (above about 50 hPa: hot and humid, e.g.
38 °C at 75 %) MEMI's skin balance jumps and has no root; there this solver and ``pet_steady``
each return the point where they stall (see :func:`body_temperatures`) and can differ by up to
~1.5 K. Below 50 hPa both converge and agree to pet_steady's rounding (0.005 K).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

STEFAN_BOLTZMANN = 5.67e-8  # W/(m²·K⁴), the value MEMI uses
LATENT_HEAT_VAPOUR = 2.42e6  # J/kg
BLOOD_HEAT_CAPACITY = 3640.0  # J/(kg·K)
SKIN_EMISSIVITY = 0.99
CLOTHING_EMISSIVITY = 0.95
WOODCOCK_RATIO = 0.38
LEWIS_RATIO = 1.67  # K/hPa
CORE_SET_POINT = 36.6  # °C
SKIN_SET_POINT = 34.0  # °C
REFERENCE_WIND = 0.1  # m/s
REFERENCE_VAPOUR_PRESSURE = 12.0  # hPa
REFERENCE_CLOTHING = 0.9  # clo
REFERENCE_ACTIVITY = 80.0  # W

POSTURE_SITTING = 0
POSTURE_STANDING = 1
POSTURE_STANDING_FORCED_CONVECTION = 2

_MAX_ITERATIONS = 100
_TOLERANCE = 1e-7  # K
_JUMP_WIDTH = 0.01  # hPa, skin vs air vapour pressure where a stall is accepted


@njit(cache=True, nogil=True)
def saturation_vapour_pressure_pa(t: float) -> float:
    """Saturation vapour pressure [Pa] at ``t`` [°C]: Hyland & Wexler, over ice below 0 °C."""
    tk = t + 273.15
    if tk < 273.15:
        return math.exp(
            -5674.5359 / tk
            + 6.3925247
            + tk
            * (-0.9677843e-2 + tk * (0.62215701e-6 + tk * (0.20747825e-8 - 0.9484024e-12 * tk)))
            + 4.1635019 * math.log(tk)
        )
    return math.exp(
        -5800.2206 / tk
        + 1.3914993
        + tk * (-0.048640239 + tk * (0.41764768e-4 - 0.14452093e-7 * tk))
        + 6.5459673 * math.log(tk)
    )


@njit(cache=True, nogil=True)
def person_parameters(
    age: float, male: bool, weight: float, height: float, posture: int, pressure_hpa: float
) -> np.ndarray:
    """[DuBois area m², basal metabolism W, height m, effective radiation factor, posture, hPa].

    ``age`` [years], ``weight`` [kg], ``height`` [m], ``posture`` one of the POSTURE_* codes.
    """
    a_dubois = 0.202 * weight**0.425 * height**0.725
    ponderal = height * 100.0 / weight ** (1.0 / 3.0)
    if male:
        basal = 3.45 * weight**0.75 * (1.0 + 0.004 * (30.0 - age) + 0.01 * (ponderal - 43.4))
    else:
        basal = 3.19 * weight**0.75 * (1.0 + 0.004 * (30.0 - age) + 0.018 * (ponderal - 42.1))
    f_eff = 0.696 if posture == POSTURE_STANDING else 0.725
    return np.array([a_dubois, basal, height, f_eff, float(posture), pressure_hpa])


@njit(cache=True, nogil=True)
def _convection_coefficient(v: float, posture: int, pressure_hpa: float) -> float:
    """Convective heat transfer coefficient of the body [W/(m²·K)] at wind ``v`` [m/s]."""
    if posture == POSTURE_SITTING:
        hc = 2.67 + 6.5 * v**0.67
    elif posture == POSTURE_STANDING:
        hc = 2.26 + 7.42 * v**0.67
    else:
        hc = 8.6 * v**0.513
    pressure_ratio = pressure_hpa / 1013.25
    hc = max(3.0 * pressure_ratio**0.53, hc)
    return hc * pressure_ratio**0.55


@njit(cache=True, nogil=True)
def _skin_blood_flow(t_core: float, t_skin: float) -> float:
    """Skin blood flow [L/(m²·h)] from the core and skin set-point signals, at most 90."""
    core_signal = max(t_core - CORE_SET_POINT, 0.0)
    skin_signal = max(SKIN_SET_POINT - t_skin, 0.0)
    return min((6.3 + 75.0 * core_signal) / (1.0 + 0.5 * skin_signal), 90.0)


@njit(cache=True, nogil=True)
def heat_balance(
    temperatures: np.ndarray,
    ta: float,
    tmrt: float,
    v: float,
    vapour_pressure_hpa: float,
    activity_w: float,
    clo: float,
    person: np.ndarray,
    residual: np.ndarray,
) -> float:
    """Fill ``residual`` with the core, skin and clothing balances [W/m²]; return the whole-body one.

    ``temperatures`` holds core, skin and clothing temperature [°C]; ``ta`` and ``tmrt`` [°C],
    ``v`` wind [m/s], ``activity_w`` metabolic heat above basal [W], ``clo`` clothing [clo].
    """
    t_core, t_skin, t_clothing = temperatures[0], temperatures[1], temperatures[2]
    a_dubois, basal, height, f_eff = person[0], person[1], person[2], person[3]
    posture = int(person[4])
    pressure_hpa = person[5]

    metabolism = (activity_w + basal) / a_dubois
    burton = 1.0 + 0.31 * clo
    clothed_fraction = (173.51 * clo - 2.36 - 100.76 * clo * clo + 19.28 * clo**3) / 100.0
    clothing_area = a_dubois * clothed_fraction + a_dubois * (burton - 1.0)
    clothed_fraction = min(clothed_fraction, 1.0)
    hc = _convection_coefficient(v, posture, pressure_hpa)

    t_expired = 0.47 * ta + 21.0
    ventilation = metabolism * 1.44e-6
    respiration = 1010.0 * (ta - t_expired) * ventilation + (
        0.623
        * LATENT_HEAT_VAPOUR
        / pressure_hpa
        * (vapour_pressure_hpa - saturation_vapour_pressure_pa(t_expired) / 100.0)
        * ventilation
    )

    blood_flow = _skin_blood_flow(t_core, t_skin)
    alpha = 0.0417737 + 0.7451833 / (blood_flow + 0.585417)
    t_body = alpha * t_skin + (1.0 - alpha) * t_core

    clothing_resistance = clo / 6.45
    if clo >= 2.0:
        covered_height = 1.0
    elif clo > 0.6:
        covered_height = (height - 0.2) / height
    elif clo > 0.3:
        covered_height = 0.5
    else:
        covered_height = 0.1
    cylinder = 6.28 * height * covered_height
    r_outer = a_dubois * (burton - 1.0 + clothed_fraction) / cylinder
    r_inner = clothed_fraction * a_dubois / cylinder
    h_clothing = (
        cylinder
        * (r_outer - r_inner)
        / (clothing_resistance * math.log(r_outer / r_inner) * clothing_area)
    )

    body_signal = max(t_body - (0.1 * SKIN_SET_POINT + 0.9 * CORE_SET_POINT), 0.0)
    sweat = LATENT_HEAT_VAPOUR / 1000.0 * min(304.94 * body_signal, 500.0) / 3600.0
    p_skin = saturation_vapour_pressure_pa(t_skin) / 100.0
    efficiency = 1.0 / (1.0 + 0.92 * hc * clothing_resistance)
    e_max = hc * LEWIS_RATIO * efficiency * (p_skin - vapour_pressure_hpa)
    if e_max == 0.0:
        e_max = 0.001
    wettedness = min(sweat / e_max, 1.0)
    vapour_resistance = (1.0 / (burton * hc) + clothing_resistance) / (LEWIS_RATIO * WOODCOCK_RATIO)
    diffusion = (1.0 - wettedness) * (p_skin - vapour_pressure_hpa) / vapour_resistance
    evaporation = -(diffusion + sweat)

    tr4 = (tmrt + 273.15) ** 4
    radiation_bare = (
        a_dubois
        * f_eff
        * (1.0 - clothed_fraction)
        * SKIN_EMISSIVITY
        * STEFAN_BOLTZMANN
        * (tr4 - (t_skin + 273.15) ** 4)
        / a_dubois
    )
    radiation_clothing = (
        f_eff
        * clothing_area
        * CLOTHING_EMISSIVITY
        * STEFAN_BOLTZMANN
        * (tr4 - (t_clothing + 273.15) ** 4)
        / a_dubois
    )
    convection_bare = hc * (ta - t_skin) * (1.0 - clothed_fraction)
    convection_clothing = hc * (ta - t_clothing) * clothing_area / a_dubois

    core_to_skin = (blood_flow / 3600.0 * BLOOD_HEAT_CAPACITY + 5.28) * (t_core - t_skin)
    skin_to_clothing = h_clothing * (t_skin - t_clothing)
    residual[0] = metabolism + respiration - core_to_skin
    residual[1] = radiation_bare + convection_bare + evaporation + core_to_skin - skin_to_clothing
    residual[2] = convection_clothing + radiation_clothing + skin_to_clothing
    return (
        metabolism
        + respiration
        + radiation_bare
        + radiation_clothing
        + convection_bare
        + convection_clothing
        + evaporation
    )


@njit(cache=True, nogil=True)
def _solve3(jacobian: np.ndarray, rhs: np.ndarray, step: np.ndarray) -> bool:
    """Solve the 3×3 system ``jacobian @ step = rhs`` by Cramer's rule; False when singular."""
    a = jacobian
    det = (
        a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
        - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
        + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0])
    )
    if det == 0.0 or not math.isfinite(det):
        return False
    for col in range(3):
        m = a.copy()
        for row in range(3):
            m[row, col] = rhs[row]
        step[col] = (
            m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
            - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
            + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0])
        ) / det
    return True


@njit(cache=True, nogil=True)
def body_temperatures(
    ta: float, tmrt: float, v: float, rh: float, activity_w: float, clo: float, person: np.ndarray
) -> np.ndarray:
    """Steady core, skin and clothing temperatures [°C] in the actual environment.

    The skin evaporation term of MEMI jumps where the skin saturation vapour pressure equals the
    air's (hot, humid air): there the balances have no exact root and the skin temperature sticks
    at the air's dew point. Like ``pet_steady`` (whose ``fsolve`` stops there without converging)
    the iteration then keeps the point where it stalls, provided it stalled on that jump (skin and
    air vapour pressure within 0.01 hPa); any other failure to converge gives NaN.
    """
    vapour = rh / 100.0 * saturation_vapour_pressure_pa(ta) / 100.0
    x = np.array([36.7, 34.0, 0.5 * (ta + tmrt)])
    f = np.empty(3)
    f_probe = np.empty(3)
    jac = np.empty((3, 3))
    step = np.empty(3)
    trial = np.empty(3)
    heat_balance(x, ta, tmrt, v, vapour, activity_w, clo, person, f)
    norm = math.sqrt(f[0] ** 2 + f[1] ** 2 + f[2] ** 2)
    for _ in range(_MAX_ITERATIONS):
        for j in range(3):
            h = 1e-6 * max(1.0, abs(x[j]))
            trial[:] = x
            trial[j] += h
            heat_balance(trial, ta, tmrt, v, vapour, activity_w, clo, person, f_probe)
            for i in range(3):
                jac[i, j] = (f_probe[i] - f[i]) / h
        if not _solve3(jac, -f, step):
            break
        if max(abs(step[0]), abs(step[1]), abs(step[2])) < _TOLERANCE:
            return x + step
        scale = 1.0
        while True:
            trial[:] = x + scale * step
            heat_balance(trial, ta, tmrt, v, vapour, activity_w, clo, person, f_probe)
            trial_norm = math.sqrt(f_probe[0] ** 2 + f_probe[1] ** 2 + f_probe[2] ** 2)
            if trial_norm < norm or scale < 1e-4:
                break
            scale *= 0.5
        if trial_norm >= norm:
            break
        x[:] = trial
        f[:] = f_probe
        norm = trial_norm
    if abs(saturation_vapour_pressure_pa(x[1]) / 100.0 - vapour) < _JUMP_WIDTH:
        return x
    x[:] = math.nan
    return x


@njit(cache=True, nogil=True)
def reference_temperature(temperatures: np.ndarray, person: np.ndarray) -> float:
    """Air temperature [°C] of the PET reference room in which ``temperatures`` balance again."""
    residual = np.empty(3)
    tx = temperatures[2]
    for _ in range(_MAX_ITERATIONS):
        f = heat_balance(
            temperatures,
            tx,
            tx,
            REFERENCE_WIND,
            REFERENCE_VAPOUR_PRESSURE,
            REFERENCE_ACTIVITY,
            REFERENCE_CLOTHING,
            person,
            residual,
        )
        h = 1e-6 * max(1.0, abs(tx))
        slope = (
            heat_balance(
                temperatures,
                tx + h,
                tx + h,
                REFERENCE_WIND,
                REFERENCE_VAPOUR_PRESSURE,
                REFERENCE_ACTIVITY,
                REFERENCE_CLOTHING,
                person,
                residual,
            )
            - f
        ) / h
        if slope <= 0.0 or not math.isfinite(slope):
            return math.nan
        delta = f / slope
        tx -= delta
        if abs(delta) < _TOLERANCE:
            return tx
    return math.nan


@njit(cache=True, nogil=True)
def pet_point(
    ta: float, tmrt: float, v: float, rh: float, activity_w: float, clo: float, person: np.ndarray
) -> float:
    """PET [°C] of one point; NaN for non-finite input, RH outside 0–100 % or no convergence."""
    if not (
        math.isfinite(ta)
        and math.isfinite(tmrt)
        and math.isfinite(v)
        and v >= 0.0
        and 0.0 <= rh <= 100.0
    ):
        return math.nan
    temperatures = body_temperatures(ta, tmrt, v, rh, activity_w, clo, person)
    if not math.isfinite(temperatures[0]):
        return math.nan
    return reference_temperature(temperatures, person)


@njit(cache=True, nogil=True, parallel=True)
def pet_flat(
    ta: np.ndarray,
    tmrt: np.ndarray,
    v: np.ndarray,
    rh: np.ndarray,
    activity_w: float,
    clo: float,
    person: np.ndarray,
) -> np.ndarray:
    """PET [°C] of equally long 1-D float64 arrays, element by element, in parallel."""
    out = np.empty(ta.size)
    for k in prange(ta.size):
        out[k] = pet_point(ta[k], tmrt[k], v[k], rh[k], activity_w, clo, person)
    return out

r"""Survival of an item's ability to function, vectorised over parameter samples and ages.

For an item of a given type at age :math:`a` (hours since emplacement)

.. math::

    S(a) = \bigl[1 - \rho_{sd}\, G(a)\bigr]\,\bigl[1 - \rho_{sda}\, F_L(A(a))\bigr]

* :math:`\rho_{sd}` — probability the self-destruct works; :math:`G` — when it fires:
  a step at the setting :math:`\tau` or, with a relative spread :math:`\sigma_{sd} > 0`,
  a log-normal distribution with median :math:`\tau`;
* :math:`\rho_{sda}` — probability that exhaustion of the power source really leaves the
  item inert; :math:`F_L` — Weibull distribution of power-source life,
  :math:`F_L(x) = 1 - \exp(-(x/\eta)^\beta)`;
* :math:`A(a)` — temperature-equivalent age, :math:`\int_0^a AF(T(e+u))\,du` with
  :math:`AF(T) = \exp(\gamma (T - 20\,^\circ C))`; at constant temperature
  :math:`A = a \cdot AF(T)`.

Persistent items have :math:`\rho_{sd} = \rho_{sda} = 0`, hence :math:`S = 1`.
Arrays broadcast: parameters of shape ``(S, 1)`` against ages of shape ``(A,)`` give
``(S, A)``. Nothing here describes how a fuse works; only how long an item stays hazardous.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

REFERENCE_TEMPERATURE_C = 20.0
PARAMETERS = ("rho_sd", "sd_setting_h", "sd_spread", "rho_sda", "life_beta", "life_eta_h",
              "temp_coef_per_c")


def self_destruct_cdf(age_h: np.ndarray, setting_h: np.ndarray,
                      spread: np.ndarray | float = 0.0) -> np.ndarray:
    """G(a): probability a working self-destruct has fired by age ``a``."""
    age = np.asarray(age_h, dtype=float)
    tau = np.asarray(setting_h, dtype=float)
    spread = np.asarray(spread, dtype=float)
    step = (age >= tau).astype(float)
    if not np.any(spread > 0):
        return np.where(tau > 0, np.where(age > 0, step, 0.0), 0.0)
    with np.errstate(all="ignore"):
        z = (np.log(np.maximum(age, 1e-300)) - np.log(np.maximum(tau, 1e-300))) / spread
        smooth = ndtr(z)
    out = np.where(spread > 0, smooth, step)
    # A setting of 0 means "no self-destruct timer": G stays 0 (rho_sd is 0 for such types).
    return np.where(tau > 0, np.where(age > 0, out, 0.0), 0.0)


def weibull_cdf(x: np.ndarray, beta: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """F_L(x) = 1 − exp(−(x/η)^β) for x ≥ 0."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    with np.errstate(over="ignore"):  # far past the life: the power is inf, the CDF 1
        return -np.expm1(-np.power(x / np.asarray(eta, dtype=float), np.asarray(beta, float)))


LIFE_DISTRIBUTIONS = ("weibull", "lognormal")


def life_cdf(x: np.ndarray, params: Mapping[str, np.ndarray], life: str = "weibull"
             ) -> np.ndarray:
    """F_L: Weibull with shape ``life_beta`` and scale ``life_eta_h`` (the default), or
    log-normal with median ``life_eta_h`` and log-scale ``life_beta`` (σ)."""
    if life == "weibull":
        return weibull_cdf(x, params["life_beta"], params["life_eta_h"])
    if life == "lognormal":
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        with np.errstate(divide="ignore"):
            z = (np.log(x) - np.log(params["life_eta_h"])) / params["life_beta"]
        return ndtr(z)
    raise ValueError(f"unknown life distribution '{life}' (known: weibull, lognormal)")


def acceleration(temperature_c: np.ndarray | float, coef_per_c: np.ndarray | float) -> np.ndarray:
    """AF(T) = exp(γ (T − 20 °C)); γ = 0 means temperature has no effect."""
    return np.exp(np.asarray(coef_per_c, dtype=float) *
                  (np.asarray(temperature_c, dtype=float) - REFERENCE_TEMPERATURE_C))


def survival(age_h: np.ndarray, params: Mapping[str, np.ndarray],
             equivalent_age_h: np.ndarray | None = None, life: str = "weibull") -> np.ndarray:
    """S(a): probability an item can still function at age ``a``.

    ``params`` maps the names in :data:`PARAMETERS` to arrays that broadcast against
    ``age_h``. ``equivalent_age_h`` is A(a) when a temperature history is known;
    by default A(a) = a (reference temperature).
    """
    age = np.asarray(age_h, dtype=float)
    eq_age = age if equivalent_age_h is None else np.asarray(equivalent_age_h, dtype=float)
    g = self_destruct_cdf(age, params["sd_setting_h"], params["sd_spread"])
    f = life_cdf(eq_age, params, life)
    s = (1.0 - params["rho_sd"] * g) * (1.0 - params["rho_sda"] * f)
    return np.where(age < 0, 1.0, np.clip(s, 0.0, 1.0))


def state_probabilities(age_h: np.ndarray, params: Mapping[str, np.ndarray],
                        equivalent_age_h: np.ndarray | None = None, life: str = "weibull"
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P functional, P self-destroyed, P inert-not-destroyed) at age ``a``: the
    current-status likelihood of a finding."""
    age = np.asarray(age_h, dtype=float)
    eq_age = age if equivalent_age_h is None else np.asarray(equivalent_age_h, dtype=float)
    if not np.any(params["rho_sd"]):  # no self-destruct to time
        destroyed = np.zeros(np.broadcast_shapes(age.shape, np.shape(params["rho_sd"])))
    else:
        destroyed = params["rho_sd"] * self_destruct_cdf(age, params["sd_setting_h"],
                                                         params["sd_spread"])
    inert = (1.0 - destroyed) * params["rho_sda"] * life_cdf(eq_age, params, life)
    return 1.0 - destroyed - inert, destroyed, inert

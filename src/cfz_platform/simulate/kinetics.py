"""M-protein kinetics: the two-population tumour model of domain.md section 8.

M(t) = M0 * (f * exp(-d t) + (1 - f) * exp(g t)), t in days from the first study dose.
f (sensitive fraction) is parameterised as f = 1 - 10**(-U) so that "depth" U is roughly
normal. The patient's beta2-microglobulin, dose level and regimen shift both the chance of
being a responder and the depth and kill rate, so early kinetics and beta2M carry real but
imperfect signal. Urine M follows the same factor; the involved free light chain falls
faster (1.5 d) and its resistant share is scaled by a per-subject factor h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate import params as P


@dataclass(frozen=True)
class Covariates:
    """Baseline traits that drive the response model."""

    dose: float
    b2m: float
    imid: bool
    ecog: int
    light_chain: bool


@dataclass(frozen=True)
class Kinetics:
    """Latent kinetic parameters of one subject (arrays of shape (n,) when drawn in bulk)."""

    responder: np.ndarray
    f: np.ndarray
    d: np.ndarray
    g: np.ndarray
    h: np.ndarray


def compute_responder_prob(cov: Covariates) -> float:
    """Probability of the latent 'responder' phenotype: a logistic function of covariates.

    Steps: linear predictor from dose (per mg/m2 around 36), log beta2M (around 3.5 mg/L),
    IMiD regimen, ECOG >= 2 and light-chain disease; then the logistic link.
    """
    eta = (
        0.15
        + 0.05 * (cov.dose - 36.0)
        - 1.0 * np.log(cov.b2m / 3.5)
        + 0.3 * cov.imid
        - 0.35 * (cov.ecog >= 2)
        - 0.2 * cov.light_chain
    )
    return float(1.0 / (1.0 + np.exp(-eta)))


def draw_kinetics(rng: np.random.Generator, cov: Covariates, size: int) -> Kinetics:
    """Draw ``size`` sets of kinetic parameters given the covariates.

    Steps: responder ~ Bernoulli(responder prob); depth U normal (responders deeper, shifted
    by dose and beta2M), f = 1 - 10**-U; kill rate d log-normal growing with sqrt(dose);
    regrowth g log-normal, faster in non-responders (a fifth of non-responders are rapid
    progressors: f ~ 0.05, g ~ 0.05/day); FLC residual factor h log-normal.
    """
    p = compute_responder_prob(cov)
    responder = rng.random(size) < p
    shift = 0.02 * (cov.dose - 36.0) - 0.3 * np.log(cov.b2m / 3.5)
    u_resp = np.clip(rng.normal(2.0 + shift, 0.8, size), 0.5, 4.0)
    u_non = np.clip(rng.normal(0.3, 0.18, size), 0.02, 0.6)
    rapid = ~responder & (rng.random(size) < 0.2)  # primary-refractory, fast-growing disease
    u_non = np.where(rapid, 0.02, u_non)
    u = np.where(responder, u_resp, u_non)
    f = 1.0 - 10.0 ** (-u)
    d = np.exp(rng.normal(np.log(0.045 * np.sqrt(cov.dose / 36.0)), 0.35, size))
    d = np.where(responder, d, d * 0.7)
    g = np.where(
        responder,
        np.exp(rng.normal(np.log(0.006), 0.7, size)),
        np.exp(rng.normal(np.log(0.011), 0.45, size)),
    )
    g = np.where(rapid, np.exp(rng.normal(np.log(0.05), 0.2, size)), g)
    h = np.exp(rng.normal(0.0, 0.9, size))
    return Kinetics(responder, f, d, g, h)


def compute_factor(f, d, g, t):
    """Tumour burden relative to t=0: f*exp(-d t) + (1-f)*exp(g t) (broadcasts)."""
    t = np.maximum(t, 0.0)
    return f * np.exp(-d * t) + (1.0 - f) * np.exp(g * t)


def compute_flc_factor(f, d, g, h, t):
    """Involved-FLC excess relative to t=0: faster kill (1.5 d), residual scaled by h."""
    t = np.maximum(t, 0.0)
    return f * np.exp(-1.5 * d * t) + (1.0 - f) * h * np.exp(g * t)


def _noise(rng: np.random.Generator, shape) -> np.ndarray:
    return np.exp(rng.normal(0.0, P.ASSAY_CV, shape))


def compute_label_prob(
    rng: np.random.Generator,
    kin: Kinetics,
    m0: float,
    u0: float,
    flc_excess0: float,
    unv0: float,
    days: np.ndarray,
) -> float:
    """Monte-Carlo probability that the early label (confirmed >= PR by end of cycle 4) is 1.

    Steps:
    1. for each replica (one per row of the kinetic arrays), simulate measured baseline and
       the assessments on ``days`` with assay noise and the detection limits;
    2. mark each assessment >= PR by the IMWG PR rule on the measurable parameters
       (serum >= 50% down; urine >= 90% down or < 200 mg/24h; if neither is measurable,
       dFLC >= 50% down);
    3. the label is 1 when two consecutive assessments are both >= PR;
    4. return the share of replicas with label 1.
    """
    n = kin.f.shape[0]
    if days.size < 2:
        return 0.0
    t = days[None, :]
    k = compute_factor(kin.f[:, None], kin.d[:, None], kin.g[:, None], t)
    b_s = m0 * _noise(rng, n)
    b_s = np.where(b_s < P.SPEP_DETECTION, 0.0, b_s)
    b_u = u0 * _noise(rng, n)
    b_u = np.where(b_u < P.UPEP_DETECTION, 0.0, b_u)
    s = m0 * k * _noise(rng, k.shape)
    s = np.where(s < P.SPEP_DETECTION, 0.0, s)
    u = u0 * k * _noise(rng, k.shape)
    u = np.where(u < P.UPEP_DETECTION, 0.0, u)
    serum_meas = b_s >= 1.0
    urine_meas = b_u >= 200.0
    ok_s = s <= 0.5 * b_s[:, None]
    ok_u = (u <= 0.1 * b_u[:, None]) | (u < 200.0)
    ge_pr = np.where(serum_meas[:, None], ok_s, True) & np.where(urine_meas[:, None], ok_u, True)
    neither = ~serum_meas & ~urine_meas
    if neither.any():
        kf = compute_flc_factor(kin.f[:, None], kin.d[:, None], kin.g[:, None], kin.h[:, None], t)
        d0 = flc_excess0 * _noise(rng, n)
        dflc = (unv0 + flc_excess0 * kf) * _noise(rng, kf.shape) - unv0
        ge_pr = np.where(neither[:, None], dflc <= 0.5 * (d0[:, None] + unv0 - unv0), ge_pr)
    pair = ge_pr[:, 1:] & ge_pr[:, :-1]
    return float(pair.any(axis=1).mean())

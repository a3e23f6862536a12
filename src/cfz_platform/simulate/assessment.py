"""One response assessment on study: marrow, skeletal survey, IMWG category, investigator RS.

``ResponseTrack`` carries what the assessments of one subject share over their course (the
IMWG assessor, a pending PD, the confirmed PD, whether the on-study marrow was done, the
current ECOG); ``simulate_assessment`` assesses one timepoint in the combination cycles, at
the final assessment (EOT) and in maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate.kinetics import compute_factor
from cfz_platform.simulate.records import COL_INDEX
from cfz_platform.simulate.response import RANK, ImwgAssessor, Panel
from cfz_platform.simulate.subject_sim import SubjectSim, noise


@dataclass
class ResponseTrack:
    """The response state of one subject across their assessments (days are ordinals)."""

    assessor: ImwgAssessor
    fd: int  # first dose
    ecog: int  # as last reported
    pending_pd: bool = False  # the last evaluable assessment was PD, not yet confirmed
    stop: str | None = None  # "PD" once PD is confirmed
    pd_confirm: int | None = None  # day of the PD-confirming assessment
    marrow_done: bool = False  # the on-study marrow was taken


def draw_investigator_response(rng: np.random.Generator, category: str) -> str:
    """The overall response the investigator reports for the IMWG ``category``.

    Steps: one draw u; u < 2%: NE; u < 10% (a ranked category): one category up or down
    (coin flip), clipped to PD..sCR; else the IMWG category itself.
    """
    u = rng.random()
    if u < 0.02:
        return "NE"
    if u < 0.1 and category in RANK:
        inv = {v: k for k, v in RANK.items()}
        return inv[int(np.clip(RANK[category] + (1 if rng.random() < 0.5 else -1), 0, 6))]
    return category


def simulate_assessment(
    sim: SubjectSim,
    track: ResponseTrack,
    day: int,
    visit: str,
    panel: Panel,
    epoch: str,
    investigator: bool,
    survey: bool,
    lag: int,
) -> None:
    """Assess the timepoint ``day`` whose myeloma panel was sent as ``panel``.

    Steps:
    1. marrow (PLSCECE), once: at the first timepoint with both immunofixations negative,
       85% of the time; BMPC follows the kinetics (>= 0.2%); the value joins ``panel``;
    2. skeletal survey when ``survey``: PROGRESSION once the subject's bone time has passed;
    3. IMWG category of the panel (``ImwgAssessor.assess``, imaging PD from step 2);
    4. when ``investigator``: RS OVRLRESP (``draw_investigator_response``) and RS ECOG (one
       worse at PD, at most 4);
    5. PD confirmation: PD by imaging, or a second PD after a pending one, sets
       ``track.stop`` = "PD" and ``track.pd_confirm``; PD leaves a pending PD; any other
       evaluable (non-NE) category clears it.
    """
    rng = sim.rng
    t = day - track.fd
    if (
        not track.marrow_done
        and panel.ife_serum is False
        and panel.ife_urine is False
        and rng.random() < 0.85
    ):
        k = float(compute_factor(sim.f, sim.d, sim.g, t))
        panel.bmpc = sim.lab.num(
            "PLSCECE", max(0.2, sim.bmpc0 * k) * noise(rng), day, visit, sim._lag(5, 11)
        )
        track.marrow_done = True
    skel = False
    if survey:
        skel = t >= sim.t_bone
        sim.rs("SKELSURV", "PROGRESSION" if skel else "NO NEW LESIONS", day, visit, epoch, lag + 2)
    a = track.assessor.assess(t, panel, skel)
    if investigator:
        sim.rs("OVRLRESP", draw_investigator_response(rng, a.category), day, visit, epoch, lag + 2)
        if a.category == "PD":
            track.ecog = min(4, track.ecog + 1)
        sim.rs("ECOG", str(track.ecog), day, visit, epoch, lag + 2)
    if a.category == "PD":
        if a.pd_source == "imaging" or track.pending_pd:
            track.stop, track.pd_confirm = "PD", day
        track.pending_pd = True
    elif a.category != "NE":
        track.pending_pd = False


def flag_last_investigator_record(sim: SubjectSim, column: str, value: str) -> None:
    """Set ``column`` (DTHPDFL, NACTDT) on the subject's latest on-study investigator OVRLRESP
    record sent so far (feeds.md RS: supplemental qualifiers of that record)."""
    ix = COL_INDEX["rs"]
    for r in reversed(sim.records):
        if (
            r.domain == "rs"
            and r.row[ix["RSTESTCD"]] == "OVRLRESP"
            and r.row[ix["EPOCH"]] != "PRIOR THERAPY"
        ):
            r.row[ix[column]] = value
            return

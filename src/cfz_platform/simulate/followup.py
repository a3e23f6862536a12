"""After the combination phase: a new anti-myeloma regimen (CM) and AEs ongoing at the data cut."""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import Record, iso
from cfz_platform.simulate.safety import NONHEME, AdverseEvent
from cfz_platform.simulate.subject_sim import SubjectSim

NEW_THERAPIES: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("Pomalidomide", "4", "mg"), ("Dexamethasone", "40", "mg")),
    (("Daratumumab", "16", "mg/kg"), ("Dexamethasone", "20", "mg")),
    (("Pomalyst", "4", "mg"), ("Decadron", "40", "mg")),
    (("Bendamustine", "90", "mg/m2"), ("Prednisone", "60", "mg/m2")),
)
NEW_THERAPY_CMCAT = "SUBSEQUENT MYELOMA THERAPY"


def new_therapy_records(sim: SubjectSim, start: int, aux: np.random.Generator) -> None:
    """CM rows of a new anti-myeloma regimen started on ``start`` (ongoing: no CMENDTC).

    Steps: pick a salvage regimen (synonyms such as Pomalyst/Decadron included); one CM row
    per drug with CMCAT "SUBSEQUENT MYELOMA THERAPY" and CMGRPID "POST1"; available 7-20 days later.
    """
    drugs = NEW_THERAPIES[int(aux.integers(0, len(NEW_THERAPIES)))]
    avail = min(start + int(aux.integers(7, 21)), sim.cutoff + P.MAX_LAG_DAYS)
    for trt, dose, unit in drugs:
        sim.records.append(
            Record(
                "cm",
                avail,
                [
                    P.STUDYID,
                    "CM",
                    sim.p.usubjid,
                    trt,
                    NEW_THERAPY_CMCAT,
                    "POST1",
                    dose,
                    unit,
                    iso(start),
                    "",
                ],
            )
        )


def ongoing_ae(sim: SubjectSim, fd: int, death: int | None, aux: np.random.Generator) -> None:
    """Scenario ae-ongoing: a grade 1-2 AE with no end date (not resolved at the data cut).

    Steps: take a resolved grade 1-2 non-haematologic AE started after cycle 1, or add a grade 2
    peripheral sensory neuropathy from day 31 (when the subject is alive then); drop its end.
    """
    cands = [
        e
        for e in sim.events
        if fd + 27 < e.start <= sim.cutoff
        and e.grade <= 2
        and e.decod in NONHEME
        and (death is None or e.start < death)
    ]
    if cands:
        cands[int(aux.integers(0, len(cands)))].end = None
        return
    on = fd + 30
    if on <= sim.cutoff and (death is None or on < death):
        bodsys, terms, _w = NONHEME["Peripheral sensory neuropathy"]
        sim.events.append(
            AdverseEvent("Peripheral sensory neuropathy", terms[0], bodsys, 2, on, None, "POSSIBLE")
        )

"""Supportive concomitant medications (CM) of a treated subject and their truth (domain.md 5).

Myeloma trials record the supportive care given beside the study drugs: antiviral
prophylaxis with a proteasome inhibitor, antithrombotic prophylaxis with an IMiD
combination, protocol hydration in cycle 1, antiemetics, bisphosphonates, proton pump
inhibitors, and drugs stopped before the first dose (an NSAID, for the kidneys). They are
drawn from the subject's own generator (``numpy.random.default_rng([seed, index,
CM_STREAM])``), so adding them changes no other feed of a seeded trial.

Steps of ``build_supportive_medications`` (days are ordinals; first dose FD, last dose LD):
1. treatment over: the last dose is more than 28 days before the cutoff, or the subject
   died; else the prophylaxis is still given at the data cut (no end date);
2. each drug of ``SUPPORTIVE`` is given with its chance (antithrombotics only to IMiD
   regimens), under a verbatim name drawn from its synonyms:
   - prophylaxis (antiviral, antithrombotic, PPI): from FD - 0..3 days to LD + 7..30
     days (none while on treatment, nor after the cutoff; never after a death);
   - hydration: cycle 1, FD to FD + 15;
   - antiemetic: a 2-10 day course starting between FD and min(LD, FD + 90);
   - bisphosphonate: half already given before the study (started 60-1500 days before FD,
     a third of those with no start date at all, as feeds.md allows), half started on
     study (FD + 0..28); ended as the prophylaxis;
   - stopped before the study: started 200-2000 days before FD (a third with no start
     date), ended 14-90 days before FD: not on-study use;
3. each row is CMCAT "SUPPORTIVE CARE", available 3-14 days after its end (its start when
   ongoing; the screening visit for history), in the first delivery after that;
4. the truth: each record as sent with its coded drug and class, on-study use by domain.md
   5 (``compute_cm_on_study``; full dates only, and no record starts or ends near the 30
   days after the last dose, so neither an imputation nor which study drug came last decides
   it) and never new anti-myeloma therapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from cfz_platform.simulate import params as P

CM_STREAM = 28
SUPPORTIVE_CMCAT = "SUPPORTIVE CARE"
CM_TRUTH_COLUMNS = (
    "usubjid",
    "cmtrt",
    "cmdecod",
    "cmclas",
    "cmstdtc",
    "cmendtc",
    "is_on_study",
    "is_new_anti_myeloma_therapy",
)
#: Days after the last dose within which a start is on-study use (domain.md 5).
ON_STUDY_DAYS_AFTER_LAST_DOSE = 30
#: A last dose this long before the cutoff means treatment is over.
TREATMENT_OVER_DAYS = 28


@dataclass(frozen=True)
class Supportive:
    """One supportive drug: coded name (the drug_synonyms seed's), class, verbatim names as
    sites write them, dose and unit, the timing pattern, who gets it and with which chance."""

    drug: str
    drug_class: str
    verbatim: tuple[str, ...]
    dose: str
    unit: str
    pattern: str  # prophylaxis, hydration, course, bisphosphonate, stopped
    chance: float
    imid_only: bool = False


#: The supportive care drawn for each treated subject (a subject gets at most one antiviral
#: and one antithrombotic: the first of each class drawn).
SUPPORTIVE: tuple[Supportive, ...] = (
    Supportive(
        "ACYCLOVIR",
        "antiviral",
        ("ACYCLOVIR", "Acyclovir", "ZOVIRAX"),
        "400",
        "mg",
        "prophylaxis",
        0.65,
    ),
    Supportive(
        "VALACYCLOVIR", "antiviral", ("VALACYCLOVIR", "VALTREX"), "500", "mg", "prophylaxis", 0.85
    ),
    Supportive(
        "ACETYLSALICYLIC ACID",
        "antithrombotic",
        ("ACETYLSALICYLIC ACID",),
        "100",
        "mg",
        "prophylaxis",
        0.7,
        imid_only=True,
    ),
    Supportive(
        "ENOXAPARIN",
        "antithrombotic",
        ("ENOXAPARIN", "LOVENOX"),
        "40",
        "mg",
        "prophylaxis",
        0.9,
        imid_only=True,
    ),
    Supportive(
        "SODIUM CHLORIDE 0.9%",
        "IV hydration",
        ("SODIUM CHLORIDE 0.9%", "NORMAL SALINE"),
        "500",
        "mL",
        "hydration",
        0.8,
    ),
    Supportive("ONDANSETRON", "antiemetic", ("ONDANSETRON", "ZOFRAN"), "8", "mg", "course", 0.4),
    Supportive(
        "ZOLEDRONIC ACID",
        "bisphosphonate",
        ("ZOLEDRONIC ACID", "ZOMETA"),
        "4",
        "mg",
        "bisphosphonate",
        0.6,
    ),
    Supportive(
        "PANTOPRAZOLE",
        "proton pump inhibitor",
        ("PANTOPRAZOLE", "PROTONIX"),
        "40",
        "mg",
        "prophylaxis",
        0.45,
    ),
    Supportive("DICLOFENAC", "NSAID", ("DICLOFENAC", "VOLTAREN"), "50", "mg", "stopped", 0.25),
)


def _iso(day: int | None) -> str:
    return date.fromordinal(day).isoformat() if day is not None else ""


def compute_cm_on_study(
    start: int | None, end: int | None, first_dose: int, last_dose: int
) -> bool:
    """On-study use of a record that is not prior myeloma therapy (domain.md 5): it starts
    between the first dose and 30 days after the last, or it starts before the first dose (no
    start counts as before) and has no end or ends on or after the first dose."""
    if start is not None and first_dose <= start <= last_dose + ON_STUDY_DAYS_AFTER_LAST_DOSE:
        return True
    return (start is None or start < first_dose) and (end is None or end >= first_dose)


def _dates(
    rng: np.random.Generator, med: Supportive, fd: int, ld: int, stop: int | None
) -> tuple[int | None, int | None]:
    """(start, end) of one drug by its pattern (module step 2); ``stop``: the end of
    prophylaxis when treatment is over, else None."""
    if med.pattern == "prophylaxis":
        return fd - int(rng.integers(0, 4)), stop
    if med.pattern == "hydration":
        return fd, fd + 15
    if med.pattern == "course":
        start = fd + int(rng.integers(0, min(ld - fd, 90) + 1))
        return start, start + int(rng.integers(2, 11))
    if med.pattern == "bisphosphonate":
        if rng.random() < 0.5:
            start = fd - int(rng.integers(60, 1501))
            return (None if rng.random() < 1 / 3 else start), stop
        return fd + int(rng.integers(0, 29)), stop
    start = fd - int(rng.integers(200, 2001))  # stopped before the study
    return (None if rng.random() < 1 / 3 else start), fd - int(rng.integers(14, 91))


def build_supportive_medications(
    usubjid: str,
    consent: int,
    first_dose: int,
    last_dose: int | None,
    death: int | None,
    imid: bool,
    cutoff: int,
    seed: int,
    index: int,
) -> tuple[list[tuple[int, list[str]]], list[dict]]:
    """CM rows as (day available, row) and one truth row per record (module steps)."""
    rng = np.random.default_rng([seed, index, CM_STREAM])
    fd = first_dose
    ld = max(last_dose or fd, fd)
    over = death is not None or cutoff - ld > TREATMENT_OVER_DAYS
    stop = ld + int(rng.integers(7, ON_STUDY_DAYS_AFTER_LAST_DOSE + 1)) if over else None
    if stop is not None and death is not None:
        stop = min(stop, death)
    rows: list[tuple[int, list[str]]] = []
    truth: list[dict] = []
    classes: set[str] = set()
    for med in SUPPORTIVE:
        given = rng.random() < med.chance
        verbatim = med.verbatim[int(rng.integers(0, len(med.verbatim)))]
        start, end = _dates(rng, med, fd, ld, stop)
        if not given or med.drug_class in classes or (med.imid_only and not imid):
            continue
        if end is not None and end > cutoff:
            end = None
        classes.add(med.drug_class)
        basis = end if end is not None else (start if start is not None else consent)
        avail = min(max(basis, consent) + int(rng.integers(3, 15)), cutoff + P.MAX_LAG_DAYS)
        row = [P.STUDYID, "CM", usubjid, verbatim, SUPPORTIVE_CMCAT, "", med.dose, med.unit,
               _iso(start), _iso(end)]  # fmt: skip
        rows.append((avail, row))
        truth.append(
            {
                "usubjid": usubjid,
                "cmtrt": verbatim,
                "cmdecod": med.drug,
                "cmclas": med.drug_class,
                "cmstdtc": _iso(start),
                "cmendtc": _iso(end),
                "is_on_study": compute_cm_on_study(start, end, fd, ld),
                "is_new_anti_myeloma_therapy": False,
            }
        )
    return rows, truth

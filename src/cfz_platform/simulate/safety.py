"""Adverse events: the term catalogue, grade and relatedness draws, and AE rows.

Grade >= 3 thrombocytopenia is sometimes accompanied by a bleeding AE (``BLEEDING``, grade 1-2,
overlapping it). Death from progressive disease is recorded as an AE with AEDECOD "Disease progression",
AETOXGR 5 and AEOUT "FATAL" (besides DM.DTHDTC/DTHFL); other deaths are grade-5 AEs of
their cause (e.g. "Sepsis"). AEDLT is the investigator's flag, "Y" on the event that makes
a cycle-1 DLT (the flag is also set on such events in the expansion cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import TAG_PARTIAL_END, Record, iso

GI = "GASTROINTESTINAL DISORDERS"
GEN = "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS"
BLOOD = "BLOOD AND LYMPHATIC SYSTEM DISORDERS"
INF = "INFECTIONS AND INFESTATIONS"
RESP = "RESPIRATORY, THORACIC AND MEDIASTINAL DISORDERS"

# decod: (bodsys, verbatim terms, weight)
NONHEME: dict[str, tuple[str, tuple[str, ...], float]] = {
    "Nausea": (GI, ("Nausea", "nausea", "Feeling sick"), 3.0),
    "Vomiting": (GI, ("Vomiting", "emesis"), 1.5),
    "Diarrhoea": (GI, ("Diarrhea", "Loose stools"), 2.0),
    "Fatigue": (GEN, ("Fatigue", "Tiredness"), 3.5),
    "Pyrexia": (GEN, ("Fever", "Pyrexia"), 2.0),
    "Oedema peripheral": (GEN, ("Leg swelling", "Peripheral edema"), 1.0),
    "Dyspnoea": (RESP, ("Shortness of breath", "Dyspnea"), 2.0),
    "Cough": (RESP, ("Cough",), 1.5),
    "Hypertension": ("VASCULAR DISORDERS", ("High blood pressure", "Hypertension"), 1.0),
    "Upper respiratory tract infection": (INF, ("URI", "Upper respiratory infection"), 1.5),
    "Pneumonia": (INF, ("Pneumonia",), 0.6),
    "Headache": ("NERVOUS SYSTEM DISORDERS", ("Headache",), 1.5),
    "Peripheral sensory neuropathy": ("NERVOUS SYSTEM DISORDERS", ("Peripheral neuropathy",), 0.5),
    "Insomnia": ("PSYCHIATRIC DISORDERS", ("Insomnia",), 1.0),
    "Back pain": ("MUSCULOSKELETAL AND CONNECTIVE TISSUE DISORDERS", ("Back pain",), 1.0),
    "Acute kidney injury": ("RENAL AND URINARY DISORDERS", ("Acute renal failure", "AKI"), 0.4),
    "Hyperglycaemia": ("METABOLISM AND NUTRITION DISORDERS", ("Hyperglycemia",), 0.8),
}
GI_TERMS = frozenset({"Nausea", "Vomiting", "Diarrhoea"})
DLT_NONHEME = ("Acute kidney injury", "Dyspnoea", "Hypertension", "Pneumonia")
HEME = {
    "Thrombocytopenia": (BLOOD, "Low platelets"),
    "Neutropenia": (BLOOD, "Neutropenia"),
    "Anaemia": (BLOOD, "Anemia"),
    "Febrile neutropenia": (BLOOD, "Febrile neutropenia"),
}
# bleeding AEs (grade 1-2) that accompany grade >= 3 thrombocytopenia
BLEEDING = {
    "Epistaxis": (RESP, "Nose bleed"),
    "Haematoma": ("VASCULAR DISORDERS", "Bruising"),
    "Petechiae": ("SKIN AND SUBCUTANEOUS TISSUE DISORDERS", "Petechiae"),
}
# grade-2 toxicities that interrupt cycle 1 and delay cycle 2 (the cycle-2 delay DLT)
DELAY_TERMS = ("Fatigue", "Peripheral sensory neuropathy", "Diarrhoea")
FATAL = {
    "Sepsis": (INF, "Sepsis"),
    "Cardiac failure": ("CARDIAC DISORDERS", "Heart failure"),
    "Disease progression": (GEN, "Disease progression"),
    # a death from PD coded as a general decline (scenario investigator-flags: DTHPDFL says PD)
    "General physical health deterioration": (GEN, "General physical health deterioration"),
}
RELATED = ("POSSIBLE", "PROBABLE", "DEFINITE")
REL_CHOICES = ("NOT RELATED", "UNLIKELY", "POSSIBLE", "PROBABLE", "DEFINITE")
REL_P = np.array([0.25, 0.2, 0.3, 0.2, 0.05])
_TERMS = tuple(NONHEME)
_W = np.array([NONHEME[t][2] for t in _TERMS])
_W = _W / _W.sum()


@dataclass
class AdverseEvent:
    """One AE before it becomes a row; days are ordinals; end None = ongoing."""

    decod: str
    term: str
    bodsys: str
    grade: int
    start: int
    end: int | None
    rel: str
    ser: bool = False
    dlt: bool = False
    acn: str = "DOSE NOT CHANGED"
    protect_dates: bool = False  # keep full dates (cycle-1 escalation window)
    partial_start: bool = False  # AESTDTC sent month-only (scenario partial-dates)

    @property
    def related(self) -> bool:
        return self.rel in RELATED

    @property
    def holds_dosing(self) -> bool:
        if self.decod in HEME:
            return self.grade >= 4 or self.decod == "Febrile neutropenia"
        short_gi = (
            self.decod in GI_TERMS
            and self.grade == 3
            and self.end is not None
            and self.end - self.start <= 3
        )
        return self.grade >= 3 and self.related and not short_gi


def draw_nonheme(rng: np.random.Generator, n: int, start: int, span: int) -> list[AdverseEvent]:
    """Draw ``n`` non-haematologic AEs with onset in [start, start + span)."""
    out = []
    for _ in range(n):
        decod = _TERMS[int(rng.choice(len(_TERMS), p=_W))]
        bodsys, terms, _w = NONHEME[decod]
        grade = int(rng.choice([1, 2, 3], p=[0.58, 0.32, 0.10]))
        onset = start + int(rng.integers(0, span))
        dur = (
            int(rng.integers(1, 4))
            if (decod in GI_TERMS and grade == 3 and rng.random() < 0.6)
            else int(rng.integers(2, 25))
        )
        rel = REL_CHOICES[int(rng.choice(5, p=REL_P))]
        ser = grade >= 3 and rng.random() < 0.5
        out.append(
            AdverseEvent(
                decod,
                terms[int(rng.integers(0, len(terms)))],
                bodsys,
                grade,
                onset,
                onset + dur,
                rel,
                ser,
            )
        )
    return out


def ae_records(
    usubjid: str, events: list[AdverseEvent], cutoff: int, rng: np.random.Generator
) -> list[Record]:
    """AE rows in onset order with AESPID 1..n; ongoing at cutoff means no end date.

    Steps: sort by onset; drop onsets after the cutoff; blank end dates after the cutoff
    (outcome NOT RECOVERED/NOT RESOLVED); the record is available 3-14 days after its end
    (or onset, when ongoing); tag resolved non-protected ones for partial-date mess.
    """
    rows = []
    evs = sorted((e for e in events if e.start <= cutoff), key=lambda e: (e.start, e.decod))
    for i, e in enumerate(evs, start=1):
        end = e.end if (e.end is not None and e.end <= cutoff) else None
        if e.grade == 5:
            out = "FATAL"
        elif end is None:
            out = "NOT RECOVERED/NOT RESOLVED"
        else:
            out = "RECOVERED/RESOLVED"
        base = end if end is not None and end - e.start <= P.MAX_LAG_DAYS else e.start
        avail = min(base + int(rng.integers(3, P.MAX_LAG_DAYS + 1)), cutoff + P.MAX_LAG_DAYS)
        row = [
            P.STUDYID,
            "AE",
            usubjid,
            str(i),
            e.term,
            e.decod,
            e.bodsys,
            str(e.grade),
            "Y" if (e.ser or e.grade >= 4) else "N",
            e.rel,
            e.acn,
            out,
            "Y" if e.dlt else "N",
            iso(e.start)[:7] if e.partial_start else iso(e.start),
            iso(end) if end is not None else "",
        ]
        tag = (
            TAG_PARTIAL_END
            if (end is not None and not e.protect_dates and e.grade < 5 and not e.partial_start)
            else 0
        )
        rows.append(Record("ae", avail, row, tag))
    return rows

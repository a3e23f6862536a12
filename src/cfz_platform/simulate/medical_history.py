"""Medical history (MH) rows and their truth for an enrolled subject (domain.md 5).

Drawn from the subject's own generator (``numpy.random.default_rng([seed, index, MH_STREAM])``),
so adding them changes no other feed of a seeded trial.

Steps of ``build_medical_history``:
1. draw 0-4 distinct conditions from ``CONDITIONS`` (term, body system, chance);
2. each starts 1-20 years before the first dose (so always before an end date) (a quarter sent as year only, a quarter as
   year-month, the rest full; some with no start date at all, as real SDTM does);
3. a third of them resolved before the first dose (MHENDTC, MHENRTPT BEFORE), the others
   are ongoing (no end date, MHENRTPT ONGOING);
4. sent at screening (consent), so in the first delivery after it; MHSEQ numbers them;
5. the truth: each condition, its body system, baseline (always: all precede the first dose)
   and ongoing at baseline.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from cfz_platform.simulate import params as P

MH_STREAM = 26
#: (MHTERM, MHBODSYS) of conditions common in relapsed myeloma patients.
CONDITIONS: tuple[tuple[str, str], ...] = (
    ("HYPERTENSION", "VASCULAR DISORDERS"),
    ("TYPE 2 DIABETES MELLITUS", "METABOLISM AND NUTRITION DISORDERS"),
    ("ANAEMIA", "BLOOD AND LYMPHATIC SYSTEM DISORDERS"),
    ("PERIPHERAL SENSORY NEUROPATHY", "NERVOUS SYSTEM DISORDERS"),
    ("RENAL IMPAIRMENT", "RENAL AND URINARY DISORDERS"),
    ("OSTEOPOROSIS", "MUSCULOSKELETAL AND CONNECTIVE TISSUE DISORDERS"),
    ("ATRIAL FIBRILLATION", "CARDIAC DISORDERS"),
    ("HYPERCHOLESTEROLAEMIA", "METABOLISM AND NUTRITION DISORDERS"),
    ("DEEP VEIN THROMBOSIS", "VASCULAR DISORDERS"),
    ("HERPES ZOSTER", "INFECTIONS AND INFESTATIONS"),
)
MH_TRUTH_COLUMNS = ("usubjid", "mhterm", "mhbodsys", "is_baseline", "is_ongoing_at_baseline")


def build_medical_history(
    usubjid: str, consent: int, first_dose: int, seed: int, index: int
) -> tuple[list[tuple[int, list[str]]], list[dict]]:
    """MH rows as (day available, row) and one truth row per condition (module steps)."""
    rng = np.random.default_rng([seed, index, MH_STREAM])
    n = int(rng.integers(0, 5))
    picks = rng.choice(len(CONDITIONS), size=n, replace=False) if n else []
    rows: list[tuple[int, list[str]]] = []
    truth: list[dict] = []
    for seq, i in enumerate(sorted(int(p) for p in picks), start=1):
        term, bodsys = CONDITIONS[i]
        start = first_dose - int(rng.integers(365, 20 * 365))
        text = date.fromordinal(start).isoformat()
        form = rng.random()
        stdtc = "" if form < 0.1 else text[:4] if form < 0.35 else text[:7] if form < 0.6 else text
        ongoing = bool(rng.random() >= 1 / 3)
        end = (
            "" if ongoing else date.fromordinal(first_dose - int(rng.integers(30, 300))).isoformat()
        )
        rows.append(
            (
                consent,
                [
                    P.STUDYID,
                    "MH",
                    usubjid,
                    str(seq),
                    term.title() if rng.random() < 0.2 else term,
                    term,
                    bodsys,
                    "GENERAL MEDICAL HISTORY",
                    stdtc,
                    end,
                    "ONGOING" if ongoing else "BEFORE",
                ],
            )
        )
        truth.append(
            {
                "usubjid": usubjid,
                "mhterm": term,
                "mhbodsys": bodsys,
                "is_baseline": True,
                "is_ongoing_at_baseline": ongoing,
            }
        )
    return rows, truth

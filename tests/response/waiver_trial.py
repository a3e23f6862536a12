"""A five-subject trial written by hand as SDTM feeds, with the shapes of issue 15.

Everyone had the same index regimen REG1 (bortezomib 1.3 mg/m2 on 2025-06-02, 06-05, 06-09,
06-12 plus dexamethasone; last bortezomib dose 2025-06-12, so E3's window ends 2025-09-04)
and is treated with carfilzomib 27 mg/m2 + dexamethasone from 2026-01-05 (C1D1), days 1, 2,
8, 9, 15, 16 of three 28-day cycles. Serum M-protein is the only response parameter.

- 0001 eligible; serum M 3.0 -> 1.2 / 1.1 / 1.0 g/dL: confirmed PR, TTP censored.
- 0002 eligible; 2.0 -> 1.8 / 2.6 / 2.8: SD, then PD on 2026-03-02 confirmed on 03-30 (TTP
  event, AVAL = 57 days).
- 0003 a WAIVER: treated although E3 is not met (PD on REG1 on 2025-10-10, 120 days after the
  last bortezomib dose); responds like 0001 (PR).
- 0004 eligible; carfilzomib HELD on C1D1 (EXDOSE 0) while dexamethasone is given: the first
  study dose stays 2026-01-05; its 01-05 serum M (2.5) is the baseline and the 01-06 value
  (2.45) is on treatment. 2.5 -> 1.0 / 0.9 / 0.9: PR.
- 0005 treated, E3 NOT EVALUABLE: the REG1 PD is dated '2025-09' (month-only) and the window
  ends on 09-04, so the outcome depends on the missing day; responds (PR).

Response-evaluable: 0001, 0002, 0004. ORR (>= PR) = 2/3; MEDIAN_TTP counts 3 subjects, 1 event.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

STUDY = "CFZ-MM-101"
DELIVERY = "20260415T020000"
C1D1 = date(2026, 1, 5)
DOSE_DAYS = (1, 2, 8, 9, 15, 16)
ASSESSMENTS = (date(2026, 2, 2), date(2026, 3, 2), date(2026, 3, 30))
SERUM_M = {  # screening (2025-12-29), then the three assessments
    "0001": (3.0, 1.2, 1.1, 1.0),
    "0002": (2.0, 1.8, 2.6, 2.8),
    "0003": (3.0, 1.2, 1.1, 1.0),
    "0004": (2.4, 1.0, 0.9, 0.9),
    "0005": (3.0, 1.2, 1.1, 1.0),
}
PRIOR_PD = {
    "0001": "2025-08-01",
    "0002": "2025-08-01",
    "0003": "2025-10-10",
    "0004": "2025-08-01",
    "0005": "2025-09",
}
BORTEZOMIB_DAYS = ("2025-06-02", "2025-06-05", "2025-06-09", "2025-06-12")


def usubjid(n: str) -> str:
    return f"{STUDY}-01-{n}"


def _write(folder: Path, domain: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    with open(folder / f"{domain}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["STUDYID", "DOMAIN", *cols])
        w.writeheader()
        for r in rows:
            w.writerow({"STUDYID": STUDY, "DOMAIN": domain.upper(), **r})


def write_waiver_trial(landing: Path) -> Path:
    """Write DM, CM, RS, EX, LB and AE of the trial above into ``landing/<DELIVERY>/``."""
    folder = landing / DELIVERY
    folder.mkdir(parents=True)
    dm, cm, rs, ex, lb, ae = [], [], [], [], [], []
    for n in SERUM_M:
        s = usubjid(n)
        dm.append(
            {
                "USUBJID": s,
                "SITEID": "01",
                "ARMCD": "A",
                "ARM": "Group A",
                "RFSTDTC": C1D1.isoformat(),
                "BRTHDTC": "1952-04-11",
                "AGE": "73",
                "SEX": "F",
                "RACE": "WHITE",
                "DOSELVL": "27",
                "COHORT": "EXPANSION",
            }
        )
        for day in BORTEZOMIB_DAYS:
            cm.append(
                {
                    "USUBJID": s,
                    "CMTRT": "BORTEZOMIB",
                    "CMCAT": "PRIOR MYELOMA THERAPY",
                    "CMGRPID": "REG1",
                    "CMDOSE": "1.3",
                    "CMDOSU": "mg/m2",
                    "CMSTDTC": day,
                    "CMENDTC": day,
                }
            )
        cm.append(
            {
                "USUBJID": s,
                "CMTRT": "DEXAMETHASONE",
                "CMCAT": "PRIOR MYELOMA THERAPY",
                "CMGRPID": "REG1",
                "CMDOSE": "20",
                "CMDOSU": "mg",
                "CMSTDTC": "2025-06-02",
                "CMENDTC": "2025-06-30",
            }
        )
        rs.append(
            {
                "USUBJID": s,
                "RSTESTCD": "OVRLRESP",
                "RSSTRESC": "PD",
                "RSDTC": PRIOR_PD[n],
                "EPOCH": "PRIOR THERAPY",
                "RSLNKGRP": "REG1",
                "VISIT": "",
            }
        )
        for cycle in (1, 2, 3):
            start = C1D1 + timedelta(days=28 * (cycle - 1))
            for d in DOSE_DAYS:
                day = (start + timedelta(days=d - 1)).isoformat()
                held = n == "0004" and cycle == 1 and d == 1
                ex.append(
                    {
                        "USUBJID": s,
                        "EXTRT": "CARFILZOMIB",
                        "EXDOSE": "0" if held else "27",
                        "EXDOSU": "mg/m2",
                        "EXSTDTC": day,
                        "EXENDTC": day,
                        "VISIT": f"C{cycle}D{d}",
                        "EPOCH": "TREATMENT",
                        "EXADJ": "DOSE HELD" if held else "",
                    }
                )
                ex.append(
                    {
                        "USUBJID": s,
                        "EXTRT": "DEXAMETHASONE",
                        "EXDOSE": "20",
                        "EXDOSU": "mg",
                        "EXSTDTC": day,
                        "EXENDTC": day,
                        "VISIT": f"C{cycle}D{d}",
                        "EPOCH": "TREATMENT",
                        "EXADJ": "",
                    }
                )
        values = SERUM_M[n]
        dates = (date(2025, 12, 29), *ASSESSMENTS)
        visits = ("SCREENING", "C2D1", "C3D1", "C4D1")
        for dt, v, visit in zip(dates, values, visits, strict=True):
            lb.append(
                {
                    "USUBJID": s,
                    "LBTESTCD": "MPROTEIN",
                    "LBSPEC": "SERUM",
                    "LBORRES": f"{v:.2f}",
                    "LBORRESU": "g/dL",
                    "LBDTC": dt.isoformat(),
                    "VISIT": visit,
                }
            )
        if n == "0004":
            lb.append(
                {
                    "USUBJID": s,
                    "LBTESTCD": "MPROTEIN",
                    "LBSPEC": "SERUM",
                    "LBORRES": "2.50",
                    "LBORRESU": "g/dL",
                    "LBDTC": "2026-01-05",
                    "VISIT": "C1D1",
                }
            )
            lb.append(
                {
                    "USUBJID": s,
                    "LBTESTCD": "MPROTEIN",
                    "LBSPEC": "SERUM",
                    "LBORRES": "2.45",
                    "LBORRESU": "g/dL",
                    "LBDTC": "2026-01-06",
                    "VISIT": "C1D2",
                }
            )
        ae.append(
            {
                "USUBJID": s,
                "AESPID": "1",
                "AETERM": "Fatigue",
                "AEDECOD": "FATIGUE",
                "AEBODSYS": "GENERAL DISORDERS",
                "AESTDTC": "2026-01-20",
                "AEENDTC": "2026-01-30",
                "AETOXGR": "2",
                "AESER": "N",
                "AEREL": "POSSIBLE",
                "AEOUT": "RECOVERED",
                "AEACN": "DOSE NOT CHANGED",
            }
        )
    for domain, rows in (("dm", dm), ("cm", cm), ("rs", rs), ("ex", ex), ("lb", lb), ("ae", ae)):
        _write(folder, domain, rows)
    return landing

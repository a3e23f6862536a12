"""EX rows of one treatment cycle: carfilzomib on days 1, 2, 8, 9, 15, 16 and the partner drugs.

Dose reductions step down ``LOWER`` (mg/m2); held doses are EX rows with EXDOSE 0.
"""

from __future__ import annotations

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import Record, iso
from cfz_platform.simulate.safety import AdverseEvent
from cfz_platform.simulate.subject_sim import SubjectSim

LOWER = {56.0: 45.0, 45.0: 36.0, 36.0: 27.0, 27.0: 20.0, 20.0: 15.0, 15.0: 15.0}


def dose_cycle(
    sim: SubjectSim,
    c: int,
    cs: int,
    dose: float,
    assigned: float,
    holds: list[AdverseEvent],
    dlt_ev: AdverseEvent | None,
    non_evaluable: bool,
    stop_day: int,
    epoch: str,
    hold_day1: bool = False,
    given_days: list[int] | None = None,
) -> int | None:
    """EX rows of one cycle: carfilzomib on days 1, 2, 8, 9, 15, 16 and partner drugs.

    ``hold_day1`` (scenario cfz-held-c1d1): carfilzomib held on day 1 (HELD - OTHER) while the
    partner drugs start. Held doses are rows with EXDOSE 0 and EXADJ "HELD - ADVERSE EVENT" (or "HELD - OTHER");
    doses below the assigned level carry EXADJ "REDUCED - ADVERSE EVENT". Doses after
    ``stop_day`` (PD, death, cutoff) are not given and have no row. Returns the last day given;
    ``given_days``, when passed, gets every day a carfilzomib dose was given.
    """
    rng = sim.rng
    usub = sim.p.usubjid
    last = None
    for dd in P.CARFILZOMIB_DAYS:
        day = cs + dd - 1
        if day > stop_day:
            break
        adj = ""
        given = dose
        if any(e.start <= day < e.start + 7 for e in holds) or (
            dlt_ev is not None and day >= dlt_ev.start
        ):
            given, adj = 0.0, "HELD - ADVERSE EVENT"
        elif (non_evaluable and dd == 16) or (hold_day1 and dd == 1):
            given, adj = 0.0, "HELD - OTHER"
        elif dose < assigned:
            adj = "REDUCED - ADVERSE EVENT"
        if given > 0:
            last = day
            if given_days is not None:
                given_days.append(day)
            sim.doses_given += 1
            if c == 1 and epoch == "TREATMENT":
                sim.cycle1_given += 1
        sim.records.append(
            Record(
                "ex",
                day + int(rng.integers(1, 8)),
                [
                    P.STUDYID,
                    "EX",
                    usub,
                    "CARFILZOMIB",
                    f"{given:g}",
                    "mg/m2",
                    "ONCE",
                    "INTRAVENOUS",
                    iso(day),
                    iso(day),
                    f"C{c}D{dd}",
                    epoch,
                    adj,
                ],
            )
        )
    if epoch != "TREATMENT":
        return last

    def give_partner(
        drug: str,
        pdose: float,
        unit: str,
        route: str,
        freq: str,
        first: int,
        last_day: int,
        label_day: int,
    ) -> None:
        """One partner-drug EX record (a single day, or a daily range first..last_day)."""
        sim.doses_given += 1
        sim.partners_given.add(drug)
        sim.records.append(
            Record(
                "ex",
                last_day + int(rng.integers(1, 8)),
                [
                    P.STUDYID,
                    "EX",
                    usub,
                    drug,
                    f"{pdose:g}",
                    unit,
                    freq,
                    route,
                    iso(first),
                    iso(last_day),
                    f"C{c}D{label_day}",
                    epoch,
                    "",
                ],
            )
        )

    for drug in sim.p.partners:
        pdose, unit, route, freq, days, is_range = P.PARTNER_SCHEDULE[drug]
        if is_range:
            a, b = cs + days[0] - 1, min(cs + days[1] - 1, stop_day)
            if a <= b:
                give_partner(drug, pdose, unit, route, freq, a, b, days[0])
        else:
            for dd in days:
                day = cs + dd - 1
                if day > stop_day:
                    break
                give_partner(drug, pdose, unit, route, freq, day, day, dd)
    return last

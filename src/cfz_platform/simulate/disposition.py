"""Disposition (DS) rows and their truth, from a subject's simulated course (domain.md 5).

The rows are derived from the course's truth after it is simulated and drawn from no random
generator, so adding them changes no other feed of a seeded trial.

Steps of ``build_disposition``:
1. a screen failure ends the study at consent + 14 days: END OF STUDY, SCREEN FAILURE;
2. a treated subject's combination stop reason (``course.stop_reason``) gives the end of
   treatment (``EOT_REASONS``) at the last dose: PD -> PROGRESSIVE DISEASE, TOX -> ADVERSE
   EVENT, DEATH, WITHDRAWN -> WITHDRAWAL BY SUBJECT, NEW THERAPY -> PHYSICIAN DECISION,
   COMPLETED (all cycles, no maintenance) -> COMPLETED; a subject still on treatment at the
   cutoff (CUTOFF, or in maintenance) has none; an end for toxicity is dated on the onset
   of the AE that caused it (``withdrawal_ae_date``, AEACN DRUG WITHDRAWN) when that comes
   after the last dose (the decision follows the event);
3. a death ends the study (END OF STUDY, DEATH, at the death date); so does a withdrawal;
4. each record is sent ``REPORT_LAG_DAYS`` after its date, in the first delivery after that
   day; a record due after the last delivery is not sent (still ongoing in the data);
5. the truth is what the sent records imply: EOTSTT/DCTREAS, EOSSTT/DCSREAS, as ADSL has them.
"""

from __future__ import annotations

from datetime import date

from cfz_platform.simulate import params as P

#: Combination stop reason -> DS.DSDECOD of the end-of-treatment record.
EOT_REASONS = {
    "PD": "PROGRESSIVE DISEASE",
    "TOX": "ADVERSE EVENT",
    "DEATH": "DEATH",
    "WITHDRAWN": "WITHDRAWAL BY SUBJECT",
    "NEW THERAPY": "PHYSICIAN DECISION",
    "COMPLETED": "COMPLETED",
}
#: Stop reasons that also end the study (with this DSDECOD); a death ends it whatever the reason.
EOS_REASONS = {"WITHDRAWN": "WITHDRAWAL BY SUBJECT"}
#: Days between a disposition event and the EDC export that carries it.
REPORT_LAG_DAYS = 7
SCREENING_DAYS = 14
DISPOSITION_TRUTH_COLUMNS = ("usubjid", "eotstt", "dctreas", "eosstt", "dcsreas")


def _day(text: str) -> int | None:
    return date.fromisoformat(text).toordinal() if text else None


def _row(usubjid: str, scat: str, decod: str, day: int, epoch: str) -> list[str]:
    return [
        P.STUDYID,
        "DS",
        usubjid,
        decod,
        decod,
        "DISPOSITION EVENT",
        scat,
        epoch,
        date.fromordinal(day).isoformat(),
    ]


def compute_status(decod: str | None) -> tuple[str, str]:
    """(status, reason) of a disposition record's DSDECOD; ('ONGOING', '') without one."""
    if decod is None:
        return "ONGOING", ""
    if decod == "COMPLETED":
        return "COMPLETED", ""
    return "DISCONTINUED", decod


def build_disposition(
    truth: dict, consent: int, last_delivery_day: int
) -> tuple[list[tuple[int, list[str]]], dict]:
    """DS rows as (day available, row) and the subject's disposition truth (module steps)."""
    u = truth["usubjid"]
    events: list[tuple[str, str, int, str]] = []  # (DSSCAT, DSDECOD, day, EPOCH)
    if truth["is_screen_failure"]:
        events.append(("END OF STUDY", "SCREEN FAILURE", consent + SCREENING_DAYS, "SCREENING"))
    else:
        reason = truth["stop_reason"]
        stop_day = _day(truth["last_dose_date"]) or _day(truth["first_dose_date"])
        ends_treatment = reason in EOT_REASONS and not (
            reason == "COMPLETED" and truth["entered_maintenance"]
        )
        if ends_treatment and stop_day is not None:
            ae_day = _day(truth.get("withdrawal_ae_date", "")) if reason == "TOX" else None
            eot_day = max(stop_day, ae_day or stop_day)
            events.append(("END OF TREATMENT", EOT_REASONS[reason], eot_day, "TREATMENT"))
        death = _day(truth["death_date"])
        if death is not None:
            events.append(("END OF STUDY", "DEATH", death, "FOLLOW-UP"))
        elif reason in EOS_REASONS and stop_day is not None:
            events.append(("END OF STUDY", EOS_REASONS[reason], stop_day, "TREATMENT"))
    sent = [e for e in events if e[2] + REPORT_LAG_DAYS < last_delivery_day]
    rows = [(day + REPORT_LAG_DAYS, _row(u, scat, decod, day, ep)) for scat, decod, day, ep in sent]
    by_scat = {scat: decod for scat, decod, _day_, _ep in sent}
    eot = by_scat.get("END OF TREATMENT", by_scat.get("END OF STUDY"))
    eotstt, dctreas = compute_status(eot)
    eosstt, dcsreas = compute_status(by_scat.get("END OF STUDY"))
    if truth["is_screen_failure"]:
        eotstt, dctreas = "", ""
    return rows, {
        "usubjid": u,
        "eotstt": eotstt,
        "dctreas": dctreas,
        "eosstt": eosstt,
        "dcsreas": dcsreas,
    }

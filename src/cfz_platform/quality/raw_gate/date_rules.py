"""The raw gate's date rules: dates plausible for the study and the domain (feeds.md).

Never after the delivery that carries them; on-study records not before the earliest
RFSTDTC's month minus ``study_date_window_days``; history only not before
``date_sanity_floor``; birth dates only not in the future. Blocking for start / collection
dates, warning for end dates and CM (the SDTM domain registry says which).
"""

from __future__ import annotations

from cfz_platform.contract.domains import DOMAINS, FUTURE_ONLY, HISTORY, ON_STUDY, REGISTRY
from cfz_platform.quality import reference as ref
from cfz_platform.quality.raw_gate.current import LINEAGE
from cfz_platform.quality.specs import BLOCKING, WARNING, Check, rows_check

#: Date columns checked per domain, by plausibility class (the SDTM domain registry):
#: on-study ones also against the study's first RFSTDTC; future-only ones (birth dates) only
#: against the future.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: d.date_columns(ON_STUDY) + d.date_columns(HISTORY)
    for name, d in DOMAINS.items()
    if d.date_columns(ON_STUDY) + d.date_columns(HISTORY)
}
FUTURE_ONLY_DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: d.date_columns(FUTURE_ONLY) for name, d in DOMAINS.items() if d.date_columns(FUTURE_ONLY)
}
#: Date columns of on-study records: not before the study's first RFSTDTC minus a window.
STUDY_BOUND_DATE_COLUMNS = tuple(c for d in REGISTRY for c in d.date_columns(ON_STUDY))
#: Date columns whose implausible value is a warning, not a reason to stop the build: end
#: dates anchor no derivation's start; CM history may lie decades back.
WARNING_DATE_COLUMNS = tuple(x.name for d in REGISTRY for x in d.dates if not x.blocking)


def date_checks(domain: str) -> list[Check]:
    """The date rules of one domain: each dated column against its floors, then birth dates
    against the future only."""
    checks = [_date_check(domain, col, floor=True) for col in DATE_COLUMNS.get(domain, ())]
    checks += [
        _date_check(domain, col, floor=False) for col in FUTURE_ONLY_DATE_COLUMNS.get(domain, ())
    ]
    return checks


#: The day a delivery was sent, from its id (YYYYMMDDTHHMMSS); today when the id is odd.
DELIVERY_DAY = (
    "case when b._delivery_id ~ '^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T' "
    "then to_char(to_date(left(b._delivery_id, 8), 'YYYYMMDD'), 'YYYY-MM-DD') "
    "else to_char(current_date, 'YYYY-MM-DD') end"
)


def study_floor_sql() -> str:
    """The earliest plausible on-study date: the first day of the month of the earliest
    RFSTDTC in raw.dm, minus ``study_date_window_days`` (null while DM has no RFSTDTC)."""
    return (
        f"(select to_char((left(min(btrim(d.rfstdtc)), 7) || '-01')::date - {int(ref.study_date_window_days())}, "
        "'YYYY-MM-DD') from raw.dm d where btrim(d.rfstdtc) ~ '^[0-9][0-9][0-9][0-9]-(0[1-9]|1[0-2])')"
    )


def _date_check(domain: str, col: str, floor: bool) -> Check:
    """Dates (possibly partial) plausible for the study and the domain (module docstring, 4).

    A partial date is compared on the precision it has (``2026-03`` against ``2026-03``), so
    it fails only when every date it could stand for is impossible. Floors: the sanity floor
    everywhere; on-study columns also the study floor (``study_floor_sql``), except RS
    records of progression on a prior regimen (EPOCH ``prior_pd_epoch``), which are history.
    """
    v = f"left(b.{col}, 10)"
    cond = f"{v} > left({DELIVERY_DAY}, length({v}))"
    what = "not in the future (after the delivery that carries it)"
    sanity = ref.date_sanity_floor()
    if floor:
        bound = f"'{sanity}'"
        what = f"not after its delivery and not before {sanity}"
        if col in STUDY_BOUND_DATE_COLUMNS:
            study = f"greatest('{sanity}', {study_floor_sql()})"
            if domain == "rs":
                bound = (
                    f"case when upper(btrim(coalesce(b.epoch, ''))) = '{ref.prior_pd_epoch()}' "
                    f"then '{sanity}' else {study} end"
                )
                what += (
                    f", nor more than {ref.study_date_window_days()} days before the study's first "
                    "RFSTDTC (prior-therapy progression excepted)"
                )
            else:
                bound = study
                what += f", nor more than {ref.study_date_window_days()} days before the study's first RFSTDTC"
        cond += f" or {v} < left({bound}, length({v}))"
    severity = WARNING if col in WARNING_DATE_COLUMNS else BLOCKING
    query = (
        f"select b.usubjid, b.{col}, {', '.join('b.' + c for c in LINEAGE)} from {{batch}} b "
        f"where b.{col} ~ '^[0-9][0-9][0-9][0-9]' and ({cond})"
    )
    return rows_check(f"{col}_plausible", query, severity, f"{col.upper()} is {what}")

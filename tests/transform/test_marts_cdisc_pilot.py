"""The CDISC pilot (a real SDTM study, not myeloma) through the platform's front door.

Its files are copied untouched into one delivery dated after its data, then the real
`cfz ingest --landing` and `cfz transform` run (raw gate, dbt build, mart gate, publish),
once per test session into the pilot template (tests/trial_template.py) that this module
reads a copy of (tests/adam/test_adam_cdisc_pilot.py reads another). The
study must publish: its natural keys repeat as real SDTM does (VS positions and timepoints,
CM drugs with one start date, reused AESPIDs) and every row must reach staging; its AE and
CM history lies decades before the study; labs are standardized and graded; the myeloma-only
marts are empty and named as underivable.
"""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.slow

DOMAINS = ("dm", "lb", "ex", "cm", "ae", "vs", "ds", "mh")


@pytest.fixture(scope="module")
def warehouse_db(pilot_warehouse):
    """A copy of the session's pilot template: every pilot file, copied byte for byte as one
    delivery, then the real ``cfz ingest`` and ``cfz transform`` (tests/trial_template.py,
    ``_build_pilot``: a non-zero exit of either fails the template, hence every test here)."""
    return pilot_warehouse


@pytest.fixture(scope="module")
def built(warehouse_db):
    return warehouse_db


def test_pilot_publishes_through_the_front_door(built, db):
    from cfz_platform.db import warehouse

    with psycopg.connect(warehouse.bi_settings().conninfo, autocommit=True) as bi:
        assert bi.execute("select count(*) from marts.dim_subject").fetchone()[0] == 306
        assert bi.execute("select count(*) from marts.fct_lab_results").fetchone()[0] > 50000
    blocking = db.execute(
        "select count(*) from audit.quality_results where not success and severity = 'blocking'"
    ).fetchone()[0]
    assert blocking == 0


def test_every_raw_row_reaches_staging(built, db):
    counts = {}
    for domain in DOMAINS:
        raw = db.execute(f"select count(*) from raw.{domain}").fetchone()[0]
        staged = db.execute(f"select count(*) from staging.stg_sdtm__{domain}").fetchone()[0]
        counts[domain] = (raw, staged)
    print("pilot rows per domain (raw, staging):", counts)
    assert counts == {
        "dm": (306, 306),
        "lb": (59580, 59580),
        "ex": (591, 591),
        "cm": (7510, 7510),
        "ae": (1191, 1191),
        "vs": (29643, 29643),
        "ds": (596, 596),
        "mh": (1818, 1818),
    }
    # 21 of CM's 7,510 rows have no CMSTDTC: feeds.md says an empty start date never rejects
    # a row (told apart by CMSEQ), so every row loads
    read, rejected = db.execute(
        "select rows_read, rows_rejected from audit.ingest_files "
        "where domain = 'cm' and status = 'loaded'"
    ).fetchone()
    assert (read, rejected) == (7510, 0)
    assert db.execute(
        "select count(*), count(*) filter (where is_usable) from staging.stg_sdtm__cm "
        "where cmstdtc is null"
    ).fetchone() == (21, 21)
    # the repeated business keys are distinct records, told apart by the qualifiers present
    vs_repeats = db.execute(
        "select count(*) from (select usubjid, vstestcd, vsdtc from staging.stg_sdtm__vs "
        "group by 1, 2, 3 having count(*) > 1) x"
    ).fetchone()[0]
    positions = db.execute("select count(distinct vspos) from staging.stg_sdtm__vs").fetchone()[0]
    ae_spid_reused = db.execute(
        "select count(*) from (select usubjid, aespid from staging.stg_sdtm__ae group by 1, 2 "
        "having count(*) > 1) x"
    ).fetchone()[0]
    print(
        f"VS keys repeated (told apart): {vs_repeats}; AE (USUBJID, AESPID) reused: {ae_spid_reused}"
    )
    assert vs_repeats == 8199 and positions == 2 and ae_spid_reused == 294
    assert db.execute(
        "select count(*), count(distinct ae_record_key) from marts.fct_adverse_events"
    ).fetchone() == (1191, 1191)


def test_history_decades_back_passes_the_date_checks(built, db):
    oldest_ae = db.execute("select min(aestdtc) from staging.stg_sdtm__ae").fetchone()[0]
    assert oldest_ae < "1993"
    failed = db.execute(
        "select suite, expectation from audit.quality_results where gate = 'raw' "
        "and expectation like '%plausible' and not success"
    ).fetchall()
    assert failed == []


def test_subjects_and_exposure_populate(built, db):
    n, treated = db.execute(
        "select count(*), count(first_dose_date) from marts.dim_subject"
    ).fetchone()
    assert n == 306 and treated == 254
    # ADSL.TRTSDT of the first pilot subject is 2014-01-02 (EX XANOMELINE/PLACEBO).
    first = db.execute(
        "select first_dose_date::text from marts.dim_subject where usubjid = '01-701-1015'"
    ).fetchone()[0]
    assert first == "2014-01-02"


def test_labs_are_standardized_and_graded(built, db):
    # Creatinine is sent in mg/dL; platelets in THOU/uL (= 10^9/L).
    units = dict(
        db.execute(
            "select lbtestcd, min(avalu) from marts.fct_lab_results where lbtestcd in ('CREAT', 'PLAT') group by 1"
        )
    )
    assert units == {"CREAT": "mg/dL", "PLAT": "10^9/L"}
    graded = db.execute(
        "select count(*) from marts.fct_lab_results where atoxgrh is not null or atoxgrl is not null"
    ).fetchone()[0]
    assert graded > 20000
    baseline = db.execute(
        "select count(distinct usubjid) from marts.fct_lab_results where ablfl = 'Y'"
    ).fetchone()[0]
    assert baseline >= 250


def test_adverse_events_populate_with_severity_grades(built, db):
    n, teae, from_sev = db.execute(
        "select count(*), count(*) filter (where is_teae), count(*) filter (where grade_source = 'AESEV') from marts.fct_adverse_events"
    ).fetchone()
    assert n > 800 and teae > 700 and from_sev == n


def test_myeloma_marts_empty_and_explained(built, db):
    from cfz_platform.transform.build import underivable_endpoints

    assert db.execute("select count(*) from marts.fct_cycles").fetchone()[0] == 0
    assert db.execute("select count(*) from marts.fct_dose_escalation").fetchone()[0] == 0
    assert db.execute("select count(*) from marts.dim_subject where is_eligible").fetchone()[0] == 0
    gaps = {g.endpoint: g.reason for g in underivable_endpoints("marts")}
    assert any("3+3" in e for e in gaps) and any("IMWG" in e for e in gaps)
    assert any("PRIOR MYELOMA THERAPY" in r for r in gaps.values())


def test_below_limit_results_reach_adlb_not_lost(built, db):
    """Issue 27: the pilot's six below-limit results (five bilirubin '<0.2' mg/dL, one glucose
    '<40' mg/dL) are not flagged as non-numeric any more; they reach fct_lab_results and ADLB
    with AVAL null and AVALC '<' and the limit in the standard unit (AVALU)."""
    issues = db.execute(
        "select value from audit.data_issues where domain = 'LB' and column_name = 'lborres' "
        "and issue = 'non-numeric result' and value like '<%'"
    ).fetchall()
    assert issues == []
    rows = db.execute(
        "select usubjid, paramcd, aval, avalc, avalu from adam.adlb where avalc like '<%' "
        "order by usubjid, paramcd"
    ).fetchall()
    bili = {r[0] for r in rows if r[1:] == ("BILI", None, "<0.2", "mg/dL")}
    assert bili == {"01-701-1363", "01-704-1323", "01-705-1031", "01-705-1393", "01-711-1036"}
    assert [r for r in rows if r[1] != "BILI"] == [("01-701-1115", "GLUC", None, "<2.22", "mmol/L")]
    marts = db.execute(
        "select count(*) from marts.fct_lab_results where aval is null and avalc like '<%'"
    ).fetchone()[0]
    assert marts == 6


def _pilot_frame(name: str):
    import pyreadstat

    from tests.conftest import CONFORMANCE

    return pyreadstat.read_xport(str(CONFORMANCE / "cdiscpilot01" / f"{name}.xpt"))[0]


def test_disposition_publishes_end_of_study_with_its_reason(built, db):
    """The pilot's DS (one DISPOSITION EVENT per subject, no DSSCAT: the end of study) gives
    each subject EOSSTT and DCSREAS as the source file says; treated subjects end treatment
    with the same record, screen failures have no end of treatment."""
    ds = _pilot_frame("ds")
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"].set_index("USUBJID")["DSDECOD"]
    expected = {
        u: ("COMPLETED", None) if d == "COMPLETED" else ("DISCONTINUED", d)
        for u, d in events.items()
    }
    got = {r[0]: (r[1], r[2]) for r in db.execute("select usubjid, eosstt, dcsreas from adam.adsl")}
    assert len(got) == 306 and got == expected
    by_reason = dict(
        db.execute(
            "select coalesce(dctreas, eotstt), count(*) from marts.fct_disposition "
            "where is_treated group by 1"
        ).fetchall()
    )
    assert "SCREEN FAILURE" not in by_reason and sum(by_reason.values()) == 254
    assert (
        db.execute(
            "select count(*) from adam.adsl where trtsdt is null and eotstt is not null"
        ).fetchone()[0]
        == 0
    )


def test_medical_history_publishes_baseline_conditions_by_body_system(built, db):
    """Every pilot MH record (859 without MHSTDTC) reaches ADMH; a condition is pre-treatment
    when it started before TRTSDT (a partial start imputed to its first day) or its start is
    unknown, as the source dates say."""
    from datetime import date

    mh = _pilot_frame("mh")
    trtsdt = dict(db.execute("select usubjid, trtsdt from adam.adsl where trtsdt is not null"))

    def first_day(text: str) -> date | None:
        if not text:
            return None
        parts = [int(p) for p in text[:10].split("-")]
        return date(parts[0], *(parts[1:] + [1, 1])[:2])

    expected = sum(
        1
        for u, st in zip(mh["USUBJID"], mh["MHSTDTC"], strict=True)
        if u in trtsdt and (not st or first_day(st) < trtsdt[u])
    )
    n, prefl, bodsys = db.execute(
        "select count(*), count(*) filter (where prefl = 'Y'), count(distinct mhbodsys) "
        "from adam.admh"
    ).fetchone()
    assert n == len(mh) == 1818
    assert prefl == expected and prefl > 1000
    assert bodsys >= 10


def _first_day(text: str):
    from datetime import date

    if not text:
        return None
    parts = [int(p) for p in text[:10].split("-")]
    return date(parts[0], *(parts[1:] + [1, 1])[:2])


def _last_day(text: str):
    import calendar
    from datetime import date

    if not text:
        return None
    parts = [int(p) for p in text[:10].split("-")]
    if len(parts) == 1:
        return date(parts[0], 12, 31)
    if len(parts) == 2:
        return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    return date(*parts)


def test_concomitant_medications_all_rows_publish_with_on_study_use(built, db):
    """Every pilot CM row reaches ADCM, the 21 without CMSTDTC too; ONTRTFL is on-study use by
    the source dates (started between TRTSDT and TRTEDT + 30 days, or before TRTSDT, start
    unknown included, and not ended by it). The one new anti-myeloma therapy is a prednisone
    started on study (a glucocorticoid, anti-myeloma in the drug_synonyms seed)."""
    cm = _pilot_frame("cm")
    dates = {u: (s, e) for u, s, e in db.execute("select usubjid, trtsdt, trtedt from adam.adsl")}
    expected_on = 0
    for u, st_text, en_text in zip(cm["USUBJID"], cm["CMSTDTC"], cm["CMENDTC"], strict=True):
        first, last = dates[u]
        if first is None:
            continue
        st, en = _first_day(st_text), _last_day(en_text)
        if (st is not None and first <= st and (st - last).days <= 30) or (
            (st is None or st < first) and (en is None or en >= first)
        ):
            expected_on += 1
    n, n_no_start, n_on, n_new, n_classes = db.execute(
        "select count(*), count(*) filter (where cmstdtc is null), "
        "count(*) filter (where ontrtfl = 'Y'), count(*) filter (where newtrtfl = 'Y'), "
        "count(distinct cmclas) from adam.adcm"
    ).fetchone()
    assert n == len(cm) == 7510 and n_no_start == 21
    assert n_on == expected_on and n_on > 1000
    assert n_classes >= 10
    new = db.execute("select usubjid, cmdecod from adam.adcm where newtrtfl = 'Y'").fetchall()
    assert n_new == 1 and new == [("01-701-1444", "PREDNISONE")]


def test_vital_signs_publish_in_standard_units_with_baseline(built, db):
    """Every pilot VS record with a result reaches ADVS; weights sent in LB, heights in IN and
    temperatures in F read in kg, cm and C as the pilot's own VSSTRESN does; each subject's
    WEIGHT baseline is the last weight on or before TRTSDT."""
    import pandas as pd

    from tests.conftest import CONFORMANCE

    vs = pd.read_csv(CONFORMANCE / "cdiscpilot01" / "vs.csv.gz", dtype=str)
    vs = vs[pd.to_numeric(vs["VSORRES"], errors="coerce").notna()]
    stresn = {
        (u, int(float(s))): float(v)
        for u, s, v in zip(vs["USUBJID"], vs["VSSEQ"], vs["VSSTRESN"], strict=True)
    }
    got = {
        (u, int(s)): float(a)
        for u, s, a in db.execute("select usubjid, vsseq, aval from marts.fct_vital_signs")
    }
    assert len(got) == len(stresn) > 29000
    off = [k for k, v in stresn.items() if abs(got[k] - v) > 0.01]
    assert off == []
    n_vs, n_subjects = db.execute(
        "select count(*), count(distinct usubjid) from adam.advs where srcdom = 'VS'"
    ).fetchone()
    assert n_vs == len(stresn) and n_subjects > 250
    trtsdt = dict(db.execute("select usubjid, trtsdt from adam.adsl where trtsdt is not null"))
    weights = vs[vs["VSTESTCD"] == "WEIGHT"]
    expected = {}
    for u, d, v in zip(weights["USUBJID"], weights["VSDTC"], weights["VSSTRESN"], strict=True):
        day = _first_day(d)
        if u in trtsdt and day <= trtsdt[u] and (u not in expected or day >= expected[u][0]):
            expected[u] = (day, float(v))
    base = dict(
        db.execute("select usubjid, base from adam.advs where paramcd = 'WEIGHT' and ablfl = 'Y'")
    )
    assert len(base) == len(expected) > 200
    assert all(abs(float(base[u]) - v) < 0.01 for u, (_d, v) in expected.items())

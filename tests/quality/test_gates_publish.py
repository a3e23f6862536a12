"""The gates decide what BI sees: clean data publishes, planted problems block, warnings pass.

Runs the real pipeline (`run_transform`) with GX against the module's PostgreSQL; only the
dbt step is replaced by a small SQL build of the marts (tests/quality/trial.py) so the
gates can be tested while the dbt project grows.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from cfz_platform.config import adam_schema_for
from cfz_platform.db import warehouse
from cfz_platform.quality import QualityGateFailed, run_gate
from cfz_platform.transform import publish
from cfz_platform.transform.pipeline import ensure_raw, run_transform
from tests.quality import trial

LATE = "20260401T020000"


@pytest.fixture(scope="module")
def conn(db, gx_dir):
    ensure_raw()
    return db


@pytest.fixture(scope="module")
def published(conn):
    """A clean trial of 12 subjects, published once."""
    ids = trial.load_clean_trial(conn)
    result = run_transform(run_id="clean1", build=trial.build_marts)
    return ids, result


def bi_connect() -> psycopg.Connection:
    return psycopg.connect(warehouse.bi_settings().conninfo, autocommit=True)


def test_clean_trial_publishes(conn, published):
    ids, result = published
    assert result.published
    assert all(r.passed for r in result.reports)
    with bi_connect() as bi:
        rows = bi.execute(
            "select usubjid, best_response from marts.fct_best_response order by 1"
        ).fetchall()
        orr = bi.execute(
            "select n_subjects, n_count, estimate from marts.rpt_study_endpoints "
            "where endpoint = 'ORR_PROTOCOL' and population = 'OVERALL'"
        ).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("select 1 from marts_previous.dim_subject")
    assert [r[0] for r in rows] == ids and {r[1] for r in rows} == {"PR"}
    assert orr == (12, 12, 1.0)
    audit = conn.execute(
        "select gate, count(*), count(*) filter (where not success and severity = 'blocking') "
        "from audit.quality_results where run_id = 'clean1' group by gate order by gate"
    ).fetchall()
    assert [(g, bad) for g, _, bad in audit] == [("mart", 0), ("raw", 0)]
    assert all(n > 10 for _, n, _ in audit)


@pytest.mark.parametrize("problem", ["mprotein_900", "unknown_code_flood", "duplicated_subject"])
def test_blocking_raw_problem_blocks_publish(conn, published, problem):
    ids, _ = published
    with bi_connect() as bi:
        before = trial.marts_fingerprint(bi)
    if problem == "mprotein_900":
        trial.insert_raw(
            conn,
            "lb",
            LATE,
            [
                {
                    "usubjid": ids[3],
                    "lbtestcd": "MPROTEIN",
                    "lbspec": "SERUM",
                    "lborres": "900",
                    "lborresu": "g/dL",
                    "lbdtc": "2026-03-30",
                }
            ],
        )
        check, named = "lab_value_physically_possible", [ids[3], "900", f"{LATE}/lb.csv"]
    elif problem == "unknown_code_flood":
        trial.insert_raw(
            conn,
            "lb",
            LATE,
            [
                {
                    "usubjid": s,
                    "lbtestcd": f"ZZ{k}",
                    "lbspec": "SERUM",
                    "lborres": "1",
                    "lborresu": "g/dL",
                    "lbdtc": "2026-03-30",
                }
                for s in ids
                for k in range(3)
            ],
        )
        check, named = "lbtestcd_known_flood", ["ZZ0", ids[0]]
    else:
        trial.insert_raw(
            conn,
            "dm",
            LATE,
            [{"usubjid": ids[5], "siteid": "01", "armcd": "A", "rfstdtc": "2026-01-05"}] * 2,
        )
        check, named = (
            "natural_key_unique_in_delivery",
            [ids[5], f"{LATE}/dm.csv:2, {LATE}/dm.csv:3"],
        )
    try:
        with pytest.raises(QualityGateFailed) as err:
            run_transform(run_id=f"bad_{problem}", build=trial.build_marts)
        message = str(err.value)
        assert check in message and "BLOCKING" in message
        for text in named:
            assert text in message
        assert "see all rows" in message
        assert err.value.report.gate == "raw"
        with bi_connect() as bi:
            assert trial.marts_fingerprint(bi) == before
        failed = conn.execute(
            "select expectation, severity, unexpected_count from audit.quality_results "
            "where run_id = %s and not success and severity = 'blocking'",
            (f"bad_{problem}",),
        ).fetchall()
        assert check in [f[0] for f in failed]
    finally:
        conn.execute("delete from raw.lb where _delivery_id = %s", (LATE,))
        conn.execute("delete from raw.dm where _delivery_id = %s", (LATE,))


def test_corrected_value_in_later_delivery_unblocks(conn, published):
    ids, _ = published
    trial.insert_raw(
        conn,
        "lb",
        LATE,
        [
            {
                "usubjid": ids[3],
                "lbtestcd": "MPROTEIN",
                "lbspec": "SERUM",
                "lborres": "900",
                "lborresu": "g/dL",
                "lbdtc": "2026-03-02",
            }
        ],
    )
    trial.insert_raw(
        conn,
        "lb",
        "20260402T020000",
        [
            {
                "usubjid": ids[3],
                "lbtestcd": "MPROTEIN",
                "lbspec": "SERUM",
                "lborres": "0.9",
                "lborresu": "g/dL",
                "lbdtc": "2026-03-02",
            }
        ],
    )
    try:
        report = run_gate("raw", run_id="corrected")
        assert report.passed, report.explain()
    finally:
        conn.execute("delete from raw.lb where _delivery_id in (%s, %s)", (LATE, "20260402T020000"))


def test_warning_publishes_and_is_reported(conn, published):
    trial.insert_raw(
        conn,
        "lb",
        LATE,
        [
            {
                "usubjid": "CFZ-99-0001",
                "lbtestcd": "ALB",
                "lbspec": "SERUM",
                "lborres": "40",
                "lborresu": "g/L",
                "lbdtc": "2026-03-30",
            }
        ],
    )
    try:
        result = run_transform(run_id="warn1", build=trial.build_marts)
    finally:
        conn.execute("delete from raw.lb where _delivery_id = %s", (LATE,))
    assert result.published
    warned = {(w.suite, w.check) for w in result.warnings}
    assert ("raw_gate.lb", "subject_known_to_dm") in warned
    orphan = next(w for w in result.warnings if w.check == "subject_known_to_dm")
    assert orphan.sample[0]["usubjid"] == "CFZ-99-0001" and orphan.unexpected_count == 1
    row = conn.execute(
        "select severity, success, unexpected_count, sample->0->>'usubjid' from audit.quality_results "
        "where run_id = 'warn1' and expectation = 'subject_known_to_dm' and suite = 'raw_gate.lb'"
    ).fetchone()
    assert row == ("warning", False, 1, "CFZ-99-0001")


@pytest.mark.parametrize(
    "plant,suite,check,named",
    [
        ("rdi", "fct_cycles", "rdi_within_0_and_1_5", {"usubjid": "CFZ-01-0001"}),
        (
            "missing_criterion",
            "fct_eligibility",
            "seven_criteria_per_subject",
            {"usubjid": "CFZ-01-0001", "n_criteria": 6},
        ),
        (
            "non_evaluable_in_tte",
            "rpt_study_endpoints",
            "km_endpoints_only_response_evaluable",
            {"endpoint": "MEDIAN_TTP", "n_subjects": 12, "response_evaluable_subjects": 11},
        ),
    ],
)
def test_mart_gate_names_the_failing_rows(conn, published, plant, suite, check, named):
    with warehouse.connect() as c:
        schema = publish.prepare_candidate(c)
    trial.build_marts(schema, plant=plant)
    report = run_gate("mart", marts_schema=schema, run_id=f"plant_{plant}")
    assert [(f.suite, f.check) for f in report.blocking_failures] == [(f"mart_gate.{suite}", check)]
    failure = report.blocking_failures[0]
    assert failure.unexpected_count == 1
    assert {k: failure.sample[0][k] for k in named} == named
    set_path, listing = failure.listing_sql.split("; ", 1)
    # quoted identifiers, never raw text
    assert set_path == f'set search_path to "{schema}", "{adam_schema_for(schema)}"'
    with warehouse.connect() as c:
        c.execute(set_path)
        rows = c.execute(listing).fetchall()
    assert len(rows) == 1 and named[next(iter(named))] in rows[0]


def test_ae_discontinuation_without_its_ae_warns_and_never_blocks(conn, published):
    """DS says the first subject stopped treatment for an AE on day 41. With the AE recorded as
    DRUG WITHDRAWN on day 31 the check passes; with that AE starting on day 51 (after the DS
    date) the subject is named in a warning, and nothing blocks."""
    first = published[0][0]
    results = {}
    for plant in (None, "ae_after_discontinuation"):
        with warehouse.connect() as c:
            schema = publish.prepare_candidate(c)
        trial.build_marts(schema, plant=plant)
        results[plant] = run_gate("mart", marts_schema=schema, run_id=f"ae_dc_{plant}")
    key = ("mart_gate.dim_subject", "ae_discontinuation_has_its_ae")
    clean, planted = results[None], results["ae_after_discontinuation"]
    assert clean.passed and key not in {(w.suite, w.check) for w in clean.warnings}
    assert planted.passed and not planted.blocking_failures
    warning = next(w for w in planted.warnings if (w.suite, w.check) == key)
    assert warning.unexpected_count == 1
    assert (warning.sample[0]["usubjid"], warning.sample[0]["eot_source"]) == (
        first,
        "END OF TREATMENT",
    )


def test_bi_reader_never_sees_a_missing_or_half_schema(conn, published):
    """A reader polls marts through a failed publish (duplicated subject) and a good one."""
    ids, _ = published
    with bi_connect() as bi:
        before = trial.marts_fingerprint(bi)
    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        with bi_connect() as bi:
            while not stop.is_set():
                try:
                    seen.append(
                        bi.execute(
                            "select count(*) from marts.dim_subject d "
                            "join marts.fct_best_response b using (usubjid)"
                        ).fetchone()[0]
                    )
                except psycopg.Error as exc:
                    errors.append(str(exc))
                time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        with pytest.raises(QualityGateFailed) as err:
            run_transform(
                run_id="mart_dup",
                build=lambda s, n: trial.build_marts(s, n, plant="duplicate_subject"),
            )
        message = str(err.value)
        assert err.value.report.gate == "mart" and "usubjid_unique" in message and ids[0] in message
        with bi_connect() as bi:
            assert trial.marts_fingerprint(bi) == before
        trial.insert_raw(
            conn,
            "dm",
            "20260501T020000",
            [{"usubjid": "CFZ-01-0100", "siteid": "02", "armcd": "B", "rfstdtc": "2026-04-01"}],
        )
        assert run_transform(run_id="good_after_dup", build=trial.build_marts).published
        n_before = len(seen)
        deadline = time.monotonic() + 10
        while len(seen) < n_before + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert len(seen) > 20
    assert set(seen) == {len(ids), len(ids) + 1}
    assert seen[-1] == len(ids) + 1
    with bi_connect() as bi:
        assert bi.execute("select count(*) from marts.dim_subject").fetchone()[0] == len(ids) + 1

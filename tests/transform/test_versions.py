"""Which version of a record counts, through the front door (`cfz ingest` + `cfz transform`).

A two-subject trial arrives in deliveries written as CSV files (feeds.md):
1. the first delivery: DM, LB, and vital signs whose business key (USUBJID, VSTESTCD, VSDTC)
   repeats with another position (VSPOS), plus two rows identical in every key column;
2. a second delivery corrects lab results and one vital sign through its extended key;
3. the second delivery's lb.csv is re-sent under the same delivery id with other values and
   without one record: the re-sent file supersedes the first whole (its values win, the
   dropped record falls back to the first delivery's version), the raw gate does not block,
   and both files stay in raw;
4. a later delivery brings a VS qualifier column (VSTPTNUM) for the first time, empty on a
   correction and '1.0' on a new record, a lab result without LBSPEC and con-meds without a
   start date: the raw gate and staging agree, row for row, on which records are current and
   on their extended keys (one rule, ``contract/current_version.py``);
5. dates: an AE onset decades back passes, a lab result dated long before the study blocks.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cfz_platform.ingest.schema import read_raw_catalog
from cfz_platform.quality.raw_gate import current_query
from tests.conftest import run_cfz

pytestmark = pytest.mark.slow

D1, D2, D3 = "20260110T020000", "20260201T020000", "20260301T020000"
D2B = "20260215T020000"
S1, S2 = "CFZ-01-0001", "CFZ-01-0002"
LB_COLS = ["STUDYID", "DOMAIN", "USUBJID", "LBTESTCD", "LBSPEC", "LBORRES", "LBORRESU", "LBDTC"]
VS_COLS = ["STUDYID", "DOMAIN", "USUBJID", "VSTESTCD", "VSPOS", "VSORRES", "VSORRESU", "VSDTC"]


def _write(
    landing: Path, delivery: str, domain: str, columns: list[str], rows: list[list[str]]
) -> None:
    folder = landing / delivery
    folder.mkdir(exist_ok=True)
    with open(folder / f"{domain}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)


def _lb(usubjid: str, value: str, lbdtc: str) -> list[str]:
    return ["CFZ", "LB", usubjid, "ALB", "SERUM", value, "g/L", lbdtc]


def _vs(usubjid: str, test: str, pos: str, value: str, unit: str = "mmHg") -> list[str]:
    return ["CFZ", "VS", usubjid, test, pos, value, unit, "2026-01-05"]


@pytest.fixture(scope="module")
def feed(warehouse_db, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    env = {"CFZ_GX_PROJECT_DIR": str(tmp_path_factory.mktemp("gx"))}

    def run(*args: str, check: bool = True):
        return run_cfz(*args, env=env, check=check)

    return landing, run


def _alb(db) -> dict[tuple[str, str], float]:
    """Published serum albumin (g/dL) per subject and date, as bi_reader sees it."""
    return {
        (u, d): float(v)
        for u, d, v in db.execute(
            "select usubjid, lbdtc, aval from marts.fct_lab_results where lbtestcd = 'ALB'"
        )
    }


def _vital_signs(db) -> list[tuple]:
    return db.execute(
        "select usubjid, vstestcd, vspos, vsorres, _delivery_id from staging.stg_sdtm__vs "
        "order by 1, 2, 3, 4"
    ).fetchall()


@pytest.fixture(scope="module")
def first_delivery(feed, db):
    landing, run = feed
    _write(
        landing,
        D1,
        "dm",
        ["STUDYID", "DOMAIN", "USUBJID", "SITEID", "ARMCD", "RFSTDTC"],
        [["CFZ", "DM", s, "01", "A", "2026-01-05"] for s in (S1, S2)],
    )
    _write(landing, D1, "lb", LB_COLS, [_lb(S1, "35", "2026-01-05"), _lb(S2, "36", "2026-01-05")])
    _write(
        landing,
        D1,
        "vs",
        VS_COLS,
        [
            _vs(S1, "SYSBP", "SUPINE", "120"),
            _vs(S1, "SYSBP", "STANDING", "115"),
            # identical in every key column: both are kept, and listed as a warning
            _vs(S2, "PULSE", "SITTING", "70", "beats/min"),
            _vs(S2, "PULSE", "SITTING", "72", "beats/min"),
        ],
    )
    run("ingest", "--landing", str(landing))
    return run("transform", check=False)


def test_repeated_business_keys_are_kept_and_warned(first_delivery, db):
    assert first_delivery.returncode == 0, first_delivery.stdout + first_delivery.stderr
    assert [r[:4] for r in _vital_signs(db)] == [
        (S1, "SYSBP", "STANDING", "115"),
        (S1, "SYSBP", "SUPINE", "120"),
        (S2, "PULSE", "SITTING", "70"),
        (S2, "PULSE", "SITTING", "72"),
    ]
    warned = db.execute(
        "select severity, unexpected_count from audit.quality_results where suite = 'raw_gate.vs' "
        "and expectation = 'natural_key_unique_in_delivery' and not success"
    ).fetchall()
    assert warned == [("warning", 1)]
    assert _alb(db) == {(S1, "2026-01-05"): 3.5, (S2, "2026-01-05"): 3.6}


@pytest.fixture(scope="module")
def corrected(first_delivery, feed, db):
    landing, run = feed
    _write(
        landing,
        D2,
        "lb",
        LB_COLS,
        [_lb(S1, "38", "2026-01-05"), _lb(S2, "30", "2026-01-05"), _lb(S1, "40", "2026-01-26")],
    )
    _write(landing, D2, "vs", VS_COLS, [_vs(S1, "SYSBP", "STANDING", "118")])
    run("ingest", "--landing", str(landing))
    return run("transform", check=False)


def test_later_delivery_corrects_through_the_extended_key(corrected, db):
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    rows = _vital_signs(db)
    assert (S1, "SYSBP", "STANDING", "118", D2) in rows and (
        S1,
        "SYSBP",
        "SUPINE",
        "120",
        D1,
    ) in rows
    assert len(rows) == 4
    assert _alb(db) == {(S1, "2026-01-05"): 3.8, (S2, "2026-01-05"): 3.0, (S1, "2026-01-26"): 4.0}


@pytest.fixture(scope="module")
def resent(corrected, feed, db):
    landing, run = feed
    # the lab re-sends D2/lb.csv: other values, and the S2 record left out
    _write(landing, D2, "lb", LB_COLS, [_lb(S1, "39", "2026-01-05"), _lb(S1, "41", "2026-01-26")])
    ingest = run("ingest", "--landing", str(landing))
    return ingest, run("transform", check=False)


def test_resent_file_supersedes_the_older_one_whole(resent, db):
    _, transform = resent
    assert transform.returncode == 0, transform.stdout + transform.stderr
    assert (
        "a file was re-sent under its delivery id" in transform.stdout + transform.stderr
    )  # full build
    versions = db.execute(
        "select file_id, status from audit.ingest_files where rel_path = %s order by file_id",
        (f"{D2}/lb.csv",),
    ).fetchall()
    assert [s for _, s in versions] == ["loaded", "loaded"]
    # the re-sent values are published; S2's record, absent from the re-sent file, falls back
    # to the first delivery's version
    assert _alb(db) == {(S1, "2026-01-05"): 3.9, (S1, "2026-01-26"): 4.1, (S2, "2026-01-05"): 3.6}
    staged = db.execute(
        "select usubjid, lborres, _file_id from staging.stg_sdtm__lb order by 1, lbdtc"
    ).fetchall()
    assert [(u, v) for u, v, _ in staged] == [(S1, "39"), (S1, "41"), (S2, "36")]
    assert {f for u, _, f in staged if u == S1} == {versions[1][0]}
    # both versions stay in the raw history, with their file
    raw = db.execute(
        "select _file_id, count(*) from raw.lb where _delivery_id = %s group by 1 order by 1", (D2,)
    ).fetchall()
    assert raw == [(versions[0][0], 3), (versions[1][0], 2)]
    blocking = db.execute(
        "select count(*) from audit.quality_results where gate = 'raw' and not success "
        "and severity = 'blocking'"
    ).fetchone()[0]
    assert blocking == 0


def _gate_current(db, domain: str, direct: bool) -> list[tuple]:
    """(file, line, extended key) of the rows the raw gate holds current in raw.<domain>,
    with the key read directly (the batches) or through to_jsonb (the suites' fingerprint)."""
    with db.cursor() as cur:
        present = read_raw_catalog(cur, domain)[domain].columns if direct else None
    query = current_query(domain, present=present)
    return sorted(db.execute(f"select _file_id, _line, _natural_key from ({query}) c").fetchall())


def _staged(db, domain: str) -> list[tuple]:
    return sorted(
        db.execute(f"select _file_id, _line, _natural_key from staging.stg_sdtm__{domain}")
    )


@pytest.fixture(scope="module")
def late_qualifier(resent, feed, db):
    landing, run = feed
    _write(
        landing,
        D2B,
        "vs",
        [*VS_COLS, "VSTPTNUM"],
        [
            # VSTPTNUM arrives: empty, it adds nothing to the key, so this corrects D1's record
            [*_vs(S1, "SYSBP", "SUPINE", "121"), ""],
            # '1.0' reads as timepoint 1: a record of its own beside D1's two untimed pulses
            [*_vs(S2, "PULSE", "SITTING", "75", "beats/min"), "1.0"],
        ],
    )
    # no specimen: LBSPEC is part of LB's key, staged as ''
    _write(landing, D2B, "lb", LB_COLS, [["CFZ", "LB", S2, "ALB", "", "37", "g/L", "2026-01-26"]])
    _write(
        landing,
        D2B,
        "cm",
        ["STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "CMSTDTC"],
        # no start date (a null key part): the two drugs are told apart by CMSEQ
        [["CFZ", "CM", S1, "1", "ASPIRIN", ""], ["CFZ", "CM", S1, "2.0", "ASPIRIN", ""]],
    )
    run("ingest", "--landing", str(landing))
    return run("transform", check=False)


def test_the_raw_gate_and_staging_hold_the_same_rows_current_under_the_same_keys(
    late_qualifier, db
):
    assert late_qualifier.returncode == 0, late_qualifier.stdout + late_qualifier.stderr
    vital_signs = _vital_signs(db)
    assert (S1, "SYSBP", "SUPINE", "121", D2B) in vital_signs
    assert (S1, "SYSBP", "SUPINE", "120", D1) not in vital_signs
    assert [r[3] for r in vital_signs if r[1] == "PULSE"] == ["70", "72", "75"]
    for domain in ("vs", "lb", "cm"):  # a re-sent file, a late qualifier, a null key part
        staged = _staged(db, domain)
        assert staged, domain
        assert _gate_current(db, domain, direct=True) == staged, domain
        assert _gate_current(db, domain, direct=False) == staged, domain
    assert len(_staged(db, "cm")) == 2  # two records, not one repeated key
    keys = {(file, line): key for file, line, key in _staged(db, "vs")}
    assert len(set(keys.values())) == len(keys) - 1  # only D1's two untimed pulses share one


def test_dates_are_plausible_for_the_study_and_the_domain(late_qualifier, feed, db):
    landing, run = feed
    _write(
        landing,
        D3,
        "ae",
        ["STUDYID", "DOMAIN", "USUBJID", "AESPID", "AETERM", "AESTDTC", "AETOXGR"],
        [["CFZ", "AE", S1, "1", "Hypertension", "1985-06", "2"]],
    )
    # two years before the first RFSTDTC (2026-01-05): not an on-study lab result
    _write(landing, D3, "lb", LB_COLS, [_lb(S2, "37", "2024-01-08")])
    run("ingest", "--landing", str(landing))
    blocked = run("transform", check=False)
    assert blocked.returncode == 1
    failed = db.execute(
        "select suite, expectation, severity, sample::text from audit.quality_results where gate = 'raw' "
        "and not success and run_id = (select run_id from audit.quality_results order by checked_at desc limit 1)"
    ).fetchall()
    assert [(s, e, v) for s, e, v, _ in failed if e.endswith("plausible")] == [
        ("raw_gate.lb", "lbdtc_plausible", "blocking")
    ]
    assert "2024-01-08" in next(x for _, e, _, x in failed if e == "lbdtc_plausible")

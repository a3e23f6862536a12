"""No leakage: the C1D15 features do not move when any later lab value changes.

Real chain: the session's simulated trial (tests/trial_template.py: simulate, ingest, dbt
build, published), in a copy of its warehouse; fct_ml_features rebuilt here by dbt. Then a
correction delivery multiplies every lab result dated after each subject's C1D15 by 3; after
re-ingesting and rebuilding, every feature column is identical (the labels may move). A
control delivery that changes only results dated exactly on C1D15 does move the C1D15
kinetics, so the comparison is sensitive.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cfz_platform.ml.spec import load_spec

FEATURES = [
    "as_of_date",
    "first_dose_date",
    "group_label",
    "dose_level",
    "baseline_b2m",
    "baseline_albumin",
    "iss_stage",
    "baseline_serum_m",
    "baseline_urine_m",
    "baseline_involved_flc",
    "ecog_baseline",
    "driving_parameter",
    "pct_change_c1d8",
    "pct_change_c1d15",
    "log_m_slope_per_day",
    "n_kinetic_points",
]


def _build(db) -> pd.DataFrame:
    from cfz_platform.transform.dbt_runner import run_dbt

    run_dbt(["run", "--select", "+fct_ml_features"], gated_build=True)  # the module's own copy
    with db.cursor() as cur:
        cur.execute("select * from marts.fct_ml_features order by usubjid")
        cols = [d.name for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols).set_index("usubjid")


def _rewrite_labs(db, landing: Path, delivery: str, where: str) -> int:
    """Write a correction delivery: every raw LB row matching ``where`` with numeric results x3."""
    cur = db.cursor()
    cur.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' "
        "and table_name = 'lb' and column_name not like '\\_%' order by ordinal_position"
    )
    cols = [r[0] for r in cur.fetchall()]
    select_cols = ", ".join(f"r.{c}" for c in cols)
    cur.execute(
        f"select {select_cols} from raw.lb r join marts.dim_subject s on s.usubjid = btrim(r.usubjid) "
        "where s.first_dose_date is not null and r.lbdtc ~ '^\\d{4}-\\d{2}-\\d{2}' "
        f"and {where}"
    )
    rows = cur.fetchall()
    folder = landing / delivery
    folder.mkdir(parents=True)
    with (folder / "lb.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([c.upper() for c in cols])
        for row in rows:
            rec = dict(zip(cols, row, strict=True))
            for c in ("lborres", "lbstresn", "lbstresc"):
                with contextlib.suppress(TypeError, ValueError, KeyError):
                    rec[c] = repr(float(rec[c]) * 3)
            out.writerow([rec[c] for c in cols])
    return len(rows)


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built trial."""
    return trial_warehouse


@pytest.fixture(scope="module")
def chain(warehouse_db, db, built_trial_template, tmp_path_factory):
    """The trial's features as dbt builds them, and a copy of its landing to add deliveries to."""
    landing = tmp_path_factory.mktemp("sim") / "landing"
    shutil.copytree(built_trial_template.landing, landing)
    return {"db": db, "landing": landing, "before": _build(db)}


def test_features_are_one_row_per_evaluable_subject_as_of_c1d15(chain):
    before = chain["before"]
    with chain["db"].cursor() as cur:
        cur.execute("select usubjid from marts.dim_subject where respevalfl order by 1")
        evaluable = [r[0] for r in cur.fetchall()]
    assert list(before.index) == evaluable and len(evaluable) >= 10
    assert (
        (pd.to_datetime(before["as_of_date"]) - pd.to_datetime(before["first_dose_date"])).dt.days
        == 14
    ).all()
    assert before["pct_change_c1d15"].notna().mean() > 0.8
    assert set(load_spec().features) <= set(before.columns)


def test_changing_every_later_lab_value_leaves_features_unchanged(chain):
    db, landing, before = chain["db"], chain["landing"], chain["before"]
    later = "left(r.lbdtc, 10)::date > s.first_dose_date + 14"
    with db.cursor() as cur:
        cur.execute(
            "select sum(lbstresn) from staging.stg_sdtm__lb l join marts.dim_subject s using (usubjid) "
            "where l.lbdt > s.first_dose_date + 14"
        )
        later_sum_before = cur.fetchone()[0]
    n = _rewrite_labs(db, landing, "20260101T000000", later)
    assert n > 100
    from cfz_platform.ingest.run import run_ingest

    run_ingest(landing)
    after = _build(db)
    with db.cursor() as cur:
        cur.execute(
            "select sum(lbstresn) from staging.stg_sdtm__lb l join marts.dim_subject s using (usubjid) "
            "where l.lbdt > s.first_dose_date + 14"
        )
        later_sum_after = cur.fetchone()[0]
    assert float(later_sum_after) == pytest.approx(
        3 * float(later_sum_before), rel=0.01
    )  # the change landed
    pd.testing.assert_frame_equal(before[FEATURES], after[FEATURES])


def test_control_a_change_on_c1d15_itself_moves_the_c1d15_kinetics(chain):
    db, landing = chain["db"], chain["landing"]
    before = _build(db)
    on_day = "left(r.lbdtc, 10)::date = s.first_dose_date + 14 and upper(r.lbtestcd) in ('MPROTEIN', 'KLCFR', 'LLCFR')"
    assert _rewrite_labs(db, landing, "20260201T000000", on_day) > 0
    from cfz_platform.ingest.run import run_ingest

    run_ingest(landing)
    after = _build(db)
    moved = (before["pct_change_c1d15"] - after["pct_change_c1d15"]).abs() > 1e-9
    assert moved.sum() >= 5
    pd.testing.assert_series_equal(before["pct_change_c1d8"], after["pct_change_c1d8"])
    pd.testing.assert_series_equal(before["baseline_b2m"], after["baseline_b2m"])

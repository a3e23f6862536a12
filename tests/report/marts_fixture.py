"""A small, hand-built warehouse shaped exactly like the real one, for the report tests.

Tables: the marts and ``audit.data_issues`` are created with the columns (names, order and
types) of their dbt YAML contracts (tests/report/contracts.py), the endpoint tables with the
columns documented there (and written by ``cfz_platform.stats``); the ingestion ledger and
``ml.early_response_predictions`` by the real DDL of the ingest and scoring modules. Rows
name their columns; columns a row does not name stay null.

14 screened subjects: 12 treated (8 in group A, 4 in group B), SF01 fails E3 (PD 120 days
after the last bortezomib dose), SF02 has E6 not evaluable. Dose levels 20 / 27 / 36 mg/m2
with 0/3, 1/6 and 2/3 DLTs, so the MTD is 27. Five subjects entered maintenance.
ECOG, medical history and disposition rows are in ``ECOG``, ``HISTORY`` and ``_disposition``.
Everything a test asserts is derivable by hand from the literals below.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql

from cfz_platform.ingest.schema import ensure_raw_layer
from cfz_platform.ml.response_validation import write_response_validation
from cfz_platform.ml.scoring import ensure_predictions_table
from tests.report.contracts import contract_columns

D0 = date(2026, 1, 5)
TREATED = [f"CFZ-{i:02d}" for i in range(1, 13)]
GROUP = {u: ("A" if i < 8 else "B") for i, u in enumerate(TREATED)}
DOSE = {u: (20 if i < 3 else 27 if i < 9 else 36) for i, u in enumerate(TREATED)}
# best % change of the driving parameter and best response per treated subject
BEST = {
    "CFZ-01": (-95.0, "VGPR"),
    "CFZ-02": (-62.0, "PR"),
    "CFZ-03": (-55.0, "PR"),
    "CFZ-04": (-30.0, "MR"),
    "CFZ-05": (-10.0, "SD"),
    "CFZ-06": (35.0, "PD"),
    "CFZ-07": (-99.0, "CR"),
    "CFZ-08": (-51.0, "PR"),
    "CFZ-09": (-20.0, "SD"),
    "CFZ-10": (-70.0, "PR"),
    "CFZ-11": (40.0, "PD"),
    "CFZ-12": (-27.0, "MR"),
}
#: The investigator rates assessments 1-4 (5 and 6 unrated), agreeing except on these two.
INVESTIGATOR = {("CFZ-04", 4): "PR", ("CFZ-06", 4): "SD"}
MAINTENANCE = {"CFZ-01", "CFZ-02", "CFZ-03", "CFZ-07", "CFZ-10"}
DEATH = {"CFZ-11": D0 + timedelta(days=150)}
#: Tables created from the dbt contracts: (schema, table).
CONTRACT_TABLES = [
    ("marts", t)
    for t in (
        "dim_subject",
        "fct_eligibility",
        "fct_dose_escalation",
        "fct_adverse_events",
        "fct_lab_results",
        "fct_response_assessments",
        "fct_best_response",
        "fct_time_to_event",
        "rpt_survival_curves",
        "rpt_study_endpoints",
        "fct_ml_features",
        "fct_disposition",
        "fct_vital_signs",
        "fct_cycle_bsa",
        "fct_concomitant_medications",
        "fct_performance_status",
        "fct_medical_history",
    )
] + [("audit", "data_issues")]


def _create(cur: psycopg.Cursor, schema: str, table: str, rows: list[dict]) -> None:
    """Create ``schema.table`` with its contract's columns and insert ``rows`` (by column name).

    Steps: 1. DDL from contract_columns(); 2. a row naming a column the contract lacks is an
    error (the fixture cannot drift from the contract); 3. insert each row's named columns.
    """
    columns = contract_columns()[table]
    names = [c for c, _ in columns]
    cur.execute(
        sql.SQL("create table {} ({})").format(
            sql.Identifier(schema, table),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns
            ),
        )
    )
    for row in rows:
        unknown = set(row) - set(names)
        if unknown:
            raise KeyError(
                f"fixture row for {schema}.{table} names columns outside its contract: {sorted(unknown)}"
            )
        cur.execute(
            sql.SQL("insert into {} ({}) values ({})").format(
                sql.Identifier(schema, table),
                sql.SQL(", ").join(map(sql.Identifier, row)),
                sql.SQL(", ").join(sql.Placeholder() * len(row)),
            ),
            list(row.values()),
        )


def _subjects() -> list[dict]:
    out = []
    for i, u in enumerate(TREATED):
        first = D0 + timedelta(days=7 * i)
        n_cycles = 8 if u in MAINTENANCE else (3 if BEST[u][1] == "PD" else 6)
        last = first + timedelta(days=28 * n_cycles - 13)
        maint = first + timedelta(days=28 * 8 + 28) if u in MAINTENANCE else None
        if maint:
            last = maint + timedelta(days=28 * 3 + 15)
        # CFZ-09: assigned to group B (ARMCD) but derived group A (as if its index regimen had
        # no IMiD): the endpoints section lists it; by-group endpoints use the assigned group
        derived = "A" if u == "CFZ-09" else GROUP[u]
        out.append(
            {
                "usubjid": u,
                "armcd": GROUP[u],
                "group": GROUP[u],
                "imid_regimen": GROUP[u] == "B",
                "derived_group": derived,
                "group_mismatch": derived != GROUP[u],
                "doselvl": DOSE[u],
                "cohort": "escalation",
                "age": 55 + i,
                "sex": "F" if i % 3 else "M",
                "race": "WHITE",
                "first_dose_date": first,
                "last_dose_date": last,
                "baseline_b2m": 2.5 + 0.4 * i,
                "baseline_albumin": 3.9 - 0.05 * i,
                "iss_stage": ["I", "II", "III"][i % 3],
                "measurable_disease_type": "serum" if i % 4 else "FLC",
                "is_eligible": True,
                "saffl": True,
                "dltevalfl": True,
                "respevalfl": True,
                "entered_maintenance": u in MAINTENANCE,
                "maintenance_start_date": maint,
                "death_date": DEATH.get(u),
                "analysis_group": GROUP[u],
                "analysis_group_source": "assigned",
            }
        )
    for u in ("SF01", "SF02"):
        out.append(
            {
                "usubjid": u,
                "armcd": "SCRNFAIL",
                "imid_regimen": False,
                "group_mismatch": False,
                "age": 70,
                "sex": "M",
                "race": "ASIAN",
                "baseline_b2m": 4.0,
                "baseline_albumin": 3.0,
                "iss_stage": "II",
                "measurable_disease_type": "serum",
                "is_eligible": False,
                "saffl": False,
                "dltevalfl": False,
                "respevalfl": False,
                "entered_maintenance": False,
            }
        )
    return out


def _disposition() -> list[dict]:
    """End of treatment: PD (CFZ-06, CFZ-11) and death (CFZ-11 died after PD: the treatment
    record says PD) discontinue; CFZ-05 stopped for an adverse event; maintenance subjects
    are ongoing; CFZ-12 has no record yet (ongoing); the rest completed. Screen failures: none."""
    out = []
    for u in TREATED:
        if u == "CFZ-12":
            continue
        if BEST[u][1] == "PD":
            eot, reason = "DISCONTINUED", "PROGRESSIVE DISEASE"
        elif u == "CFZ-05":
            eot, reason = "DISCONTINUED", "ADVERSE EVENT"
        elif u in MAINTENANCE:
            eot, reason = "ONGOING", None
        else:
            eot, reason = "COMPLETED", None
        eos = "DISCONTINUED" if u in DEATH else "ONGOING"
        out.append(
            {
                "usubjid": u,
                "is_treated": True,
                "eotstt": eot,
                "dctreas": reason,
                "eotdt": D0 + timedelta(days=90) if reason else None,
                "eosstt": eos,
                "dcsreas": "DEATH" if u in DEATH else None,
                "eosdt": DEATH.get(u),
            }
        )
    return out


#: Cycle weights (kg) of CFZ-01..03 (height 170 cm); CFZ-02's cycle 2 was given at 15 mg/m2
#: instead of 20 (-25%: the one dose off BSA).
WEIGHTS = {"CFZ-01": (70.0, 68.0), "CFZ-02": (80.0, 80.0), "CFZ-03": (90.0, 90.0)}
#: Systolic BP (mmHg) at C1D1 (baseline) and C2D1 of CFZ-01 and CFZ-02.
SYSBP = {"CFZ-01": (120.0, 130.0), "CFZ-02": (140.0, 136.0)}


def _cycle_bsa() -> list[dict]:
    """Cycles 1-2 of CFZ-01..03: Mosteller BSA from the weights above, dose level 20 mg/m2."""
    out = []
    for u, weights in WEIGHTS.items():
        for cycle, weight in enumerate(weights, start=1):
            bsa = (170.0 * weight / 3600.0) ** 0.5
            given = 15.0 if (u, cycle) == ("CFZ-02", 2) else 20.0
            diff = 100.0 * (given - 20.0) / 20.0
            out.append(
                {
                    "usubjid": u,
                    "cycle": cycle,
                    "weight_kg": weight,
                    "height_cm": 170.0,
                    "bsa_m2": bsa,
                    "dose_level_mg_m2": 20.0,
                    "planned_dose_mg": 20.0 * bsa,
                    "doses_given": 6,
                    "dose_given_mg": given * bsa,
                    "dose_difference_pct": diff,
                    "is_dose_off_bsa": abs(diff) > 10,
                }
            )
    return out


def _vital_signs(first_dose: dict) -> list[dict]:
    """SYSBP of CFZ-01 and CFZ-02: baseline at C1D1 (the first dose), then C2D1."""
    out = []
    for u, (base, later) in SYSBP.items():
        fd = first_dose[u]
        for day, visit, value in ((0, "C1D1", base), (28, "C2D1", later)):
            out.append(
                {
                    "vs_record_key": f"{u}-SYSBP-{visit}",
                    "usubjid": u,
                    "vstestcd": "SYSBP",
                    "aval": value,
                    "avalu": "mmHg",
                    "vsdt": fd + timedelta(days=day),
                    "visit": visit,
                    "base": base,
                    "is_baseline": day == 0,
                    "is_post_baseline": day > 0,
                    "chg": value - base if day > 0 else None,
                }
            )
    return out


def _con_meds(first_dose: dict) -> list[dict]:
    """Aciclovir (antiviral) on study for CFZ-01 and CFZ-02, ondansetron for CFZ-03, a prior
    bortezomib regimen of CFZ-01 (never on study), and pomalidomide started by CFZ-06 after
    its treatment ended (new anti-myeloma therapy, not on study)."""
    rows = [
        ("CFZ-01", "ACICLOVIR", "antiviral", None, 1, True, False),
        ("CFZ-02", "ACICLOVIR", "antiviral", None, 1, True, False),
        ("CFZ-03", "ONDANSETRON", "antiemetic", None, 2, True, False),
        (
            "CFZ-01",
            "BORTEZOMIB",
            "proteasome inhibitor",
            "PRIOR MYELOMA THERAPY",
            -400,
            False,
            False,
        ),
        ("CFZ-06", "POMALIDOMIDE", "IMiD", "SUBSEQUENT MYELOMA THERAPY", 150, False, True),
    ]
    return [
        {
            "cm_record_key": f"{u}-{drug}",
            "usubjid": u,
            "cmtrt": drug,
            "cmdecod": drug,
            "cmclas": cls,
            "cmcat": cat,
            "cmstdtc": (first_dose[u] + timedelta(days=day)).isoformat(),
            "cmstdt": first_dose[u] + timedelta(days=day),
            "is_prior_myeloma_therapy": cat == "PRIOR MYELOMA THERAPY",
            "is_anti_myeloma": cls in {"proteasome inhibitor", "IMiD"},
            "is_on_study": on,
            "is_new_anti_myeloma_therapy": new,
        }
        for u, drug, cls, cat, day, on, new in rows
    ]


#: ECOG (baseline, worst after the first dose, shift); CFZ-08 has no assessment after its
#: first dose, CFZ-12 no row at all.
ECOG = {
    "CFZ-01": (0, 1, "worsened"),
    "CFZ-02": (1, 1, "unchanged"),
    "CFZ-03": (0, 0, "unchanged"),
    "CFZ-04": (1, 2, "worsened"),
    "CFZ-05": (2, 1, "improved"),
    "CFZ-06": (1, 3, "worsened"),
    "CFZ-07": (0, 0, "unchanged"),
    "CFZ-08": (1, None, None),
    "CFZ-09": (2, 2, "unchanged"),
    "CFZ-10": (0, 1, "worsened"),
    "CFZ-11": (1, 4, "worsened"),
}


def _performance_status() -> list[dict]:
    return [
        {
            "usubjid": u,
            "ecog_baseline": base,
            "ecog_baseline_date": D0,
            "ecog_worst_post": worst,
            "n_post_assessments": 0 if worst is None else 3,
            "ecog_shift": shift,
        }
        for u, (base, worst, shift) in ECOG.items()
    ]


#: (usubjid, term, body system, is_baseline, ongoing at baseline). CFZ-02's hypertension is
#: recorded twice (counted once); CFZ-04's DVT started after the first dose and SF01 was never
#: treated (neither counts); CFZ-10's back pain has no body system (UNCODED).
VASCULAR, METABOLIC = "VASCULAR DISORDERS", "METABOLISM AND NUTRITION DISORDERS"
HISTORY = [
    ("CFZ-01", "HYPERTENSION", VASCULAR, True, True),
    ("CFZ-01", "HYPERCHOLESTEROLAEMIA", METABOLIC, True, False),
    ("CFZ-02", "HYPERTENSION", VASCULAR, True, True),
    ("CFZ-02", "HYPERTENSION", VASCULAR, True, True),
    ("CFZ-03", "TYPE 2 DIABETES MELLITUS", METABOLIC, True, True),
    ("CFZ-04", "DEEP VEIN THROMBOSIS", VASCULAR, False, False),
    ("CFZ-09", "HYPERTENSION", VASCULAR, True, True),
    ("CFZ-10", "BACK PAIN", "UNCODED", True, False),
    ("SF01", "HYPERTENSION", VASCULAR, True, True),
]


def _medical_history() -> list[dict]:
    return [
        {
            "mh_record_key": f"mh-{k}",
            "usubjid": u,
            "mhseq": k,
            "mhterm": term.lower(),
            "mhdecod": term,
            "mhbodsys": system,
            "is_baseline": baseline,
            "is_ongoing_at_baseline": ongoing,
        }
        for k, (u, term, system, baseline, ongoing) in enumerate(HISTORY, start=1)
    ]


#: fct_eligibility.criterion of E3 (the other criteria have no text: their id stands alone).
E3_TEXT = "bortezomib-resistant (PD within 84 days of last dose)"


def _eligibility(subjects: list[dict]) -> list[dict]:
    rows = []
    for s in subjects:
        for k in range(1, 8):
            status, evidence = "met", "ok"
            if s["usubjid"] == "SF01" and k == 3:
                status, evidence = (
                    "not_met",
                    "PD 120 days after the last bortezomib dose (limit 84)",
                )
            if s["usubjid"] == "SF02" and k == 6:
                status, evidence = "not_evaluable", "no baseline serum or urine M-protein"
            rows.append(
                {
                    "usubjid": s["usubjid"],
                    "criterion_id": f"E{k}",
                    "criterion": E3_TEXT if k == 3 else None,
                    "status": status,
                    "evidence": evidence,
                }
            )
    return rows


def _labs(first_dose: dict[str, date]) -> list[dict]:
    rows = []
    plat = {
        "CFZ-01": ("0", ["0", "2", "4"]),
        "CFZ-02": ("1", ["1", "3", "2"]),
        "CFZ-03": ("0", ["0", "0", "0"]),
    }
    for u, (base, post) in plat.items():
        first = first_dose[u]
        rows.append(
            {
                "usubjid": u,
                "lbtestcd": "PLAT",
                "lbdt": first - timedelta(days=1),
                "aval": 200.0,
                "ablfl": "Y",
                "btoxgrl": base,
                "atoxgrl": base,
            }
        )
        for j, g in enumerate(post):
            rows.append(
                {
                    "usubjid": u,
                    "lbtestcd": "PLAT",
                    "lbdt": first + timedelta(days=8 * (j + 1)),
                    "aval": 100.0,
                    "btoxgrl": base,
                    "atoxgrl": g,
                }
            )
    rows.append(
        {
            "usubjid": "CFZ-01",
            "lbtestcd": "CREAT",
            "lbdt": D0 - timedelta(days=1),
            "aval": 80.0,
            "ablfl": "Y",
            "btoxgrh": "0",
            "atoxgrh": "0",
        }
    )
    rows.append(
        {
            "usubjid": "CFZ-01",
            "lbtestcd": "CREAT",
            "lbdt": D0 + timedelta(days=15),
            "aval": 150.0,
            "btoxgrh": "0",
            "atoxgrh": "2",
        }
    )
    rows.append(
        {"usubjid": "CFZ-01", "lbtestcd": "SODIUM", "lbdt": D0 + timedelta(days=15), "aval": 140.0}
    )
    return rows


def _efficacy(first_dose: dict[str, date]) -> tuple[list[dict], list[dict], list[dict]]:
    """Response assessments, best response and TTP rows of the treated subjects."""
    assessments, best, tte = [], [], []
    for u in TREATED:
        first = first_dose[u]
        target, resp = BEST[u]
        driver = "FLC" if u == "CFZ-04" else "SERUM"  # CFZ-04 has light-chain-only disease
        for k in range(1, 7):
            pct = target * min(1.0, k / 3.0)
            serum_pct, flc_pct = (None, pct) if driver == "FLC" else (pct, 900.0)
            assessments.append(
                {
                    "usubjid": u,
                    "assessment_seq": k,
                    "assessment_date": first + timedelta(days=28 * k),
                    "ady": 28 * k + 1,
                    "response_driver": driver,
                    "serum_m_pct_change": serum_pct,
                    "dflc_pct_change": flc_pct,
                    "imwg_category": resp if k >= 3 else "SD",
                    "is_confirmed": k >= 4,
                    "investigator_response": INVESTIGATOR.get((u, k), resp if k >= 3 else "SD")
                    if k <= 4
                    else None,
                }
            )
        best.append(
            {
                "usubjid": u,
                "best_response": resp,
                "is_responder": resp in {"CR", "VGPR", "PR"},
                "is_clinical_benefit": resp in {"CR", "VGPR", "PR", "MR"},
            }
        )
        pd_event = resp == "PD"
        tte.append(
            {
                "usubjid": u,
                "paramcd": "TTP",
                "startdt": first,
                "adt": first + timedelta(days=85 if pd_event else 169),
                "aval": 85 if pd_event else 169,
                "cnsr": 0 if pd_event else 1,
            }
        )
    return assessments, best, tte


CURVES = [
    ("TTP", "OVERALL", 0, 12, 0, 1.0, 1.0, 1.0),
    ("TTP", "OVERALL", 85, 12, 2, 0.833, 0.48, 0.96),
    ("TTP", "OVERALL", 169, 10, 0, 0.833, 0.48, 0.96),
    ("TTP", "GROUP A", 0, 8, 0, 1.0, 1.0, 1.0),
    ("TTP", "GROUP A", 85, 8, 1, 0.875, 0.39, 0.98),
    ("TTP", "GROUP A", 169, 7, 0, 0.875, 0.39, 0.98),
    ("TTP", "GROUP B", 0, 4, 0, 1.0, 1.0, 1.0),
    ("TTP", "GROUP B", 85, 4, 1, 0.75, 0.13, 0.96),
    ("TTP", "GROUP B", 169, 3, 0, 0.75, 0.13, 0.96),
    ("PFSMAINT", "OVERALL", 0, 5, 0, 1.0, 1.0, 1.0),
    ("PFSMAINT", "OVERALL", 60, 5, 1, 0.8, 0.2, 0.97),
    ("PFSMAINT", "OVERALL", 110, 4, 0, 0.8, 0.2, 0.97),
    ("DOR", "OVERALL", 0, 6, 0, 1.0, 1.0, 1.0),
]
CURVE_KEYS = (
    "paramcd",
    "population",
    "time",
    "n_at_risk",
    "n_events",
    "survival",
    "ci_lower",
    "ci_upper",
)
ENDPOINTS = [("ORR_PROTOCOL", 8, 0.349, 0.901), ("ORR_CONVENTIONAL", 6, 0.211, 0.789)]


def _ledger(cur: psycopg.Cursor) -> None:
    """Three loaded files; 20260201T020000/dm.csv was met again, unchanged, by two later runs
    (seen_count 3); two rejected rows of the first lb file."""
    files = [
        (1, "20260201T020000", "dm", 14, 14, 0, 3),
        (2, "20260201T020000", "lb", 100, 98, 2, 1),
        (3, "20260301T020000", "lb", 50, 50, 0, 1),
    ]
    for file_id, delivery, domain, read, loaded, rejected, seen in files:
        cur.execute(
            "insert into audit.ingest_files (file_id, run_id, delivery_id, domain, file_name, rel_path, "
            "sha256, size_bytes, rows_read, rows_loaded, rows_rejected, status, started_at, seen_count) "
            "values (%s, 'r1', %s, %s, %s, %s, %s, 10, %s, %s, %s, 'loaded', now(), %s)",
            (
                file_id,
                delivery,
                domain,
                f"{domain}.csv",
                f"{delivery}/{domain}.csv",
                f"sha{file_id}",
                read,
                loaded,
                rejected,
                seen,
            ),
        )
    for line, value, reason in (
        (7, "2026-13-01", "unparseable date"),
        (9, "", "missing required value"),
    ):
        cur.execute(
            "insert into audit.ingest_rejects (file_id, delivery_id, rel_path, line, column_name, value, "
            "reason, kind) values (2, '20260201T020000', '20260201T020000/lb.csv', %s, 'lbdtc', %s, %s, "
            "'value')",
            (line, value, reason),
        )


#: the cross-validated metrics of versions 1 (current) and 0 (earlier), ml.early_response_validation
CV_METRICS = {
    "1": {"cv_auc": 0.81, "cv_auc_ci_low": 0.7, "cv_auc_ci_high": 0.9, "cv_brier": 0.18},
    "0": {"cv_auc": 0.55, "cv_auc_ci_low": 0.4, "cv_auc_ci_high": 0.7, "cv_brier": 0.3},
}


def _predictions(cur: psycopg.Cursor) -> None:
    """The current scoring run (version 1, probabilities falling with the subject number) and
    an earlier run (version 0, the opposite order) that the report must not use; both
    versions' cross-validated metrics (``CV_METRICS``)."""
    ensure_predictions_table(cur)
    for version, cv in CV_METRICS.items():
        write_response_validation(
            cur,
            "early_response",
            version,
            f"run-{version}",
            {
                "n_subjects": 12,
                "n_positive": 6,
                "cv_calibration_slope": 0.95,
                "cv_calibration_slope_ci_low": 0.5,
                "cv_calibration_slope_ci_high": 1.4,
                **cv,
            },
        )
    current, earlier = uuid.uuid4(), uuid.uuid4()
    for i, u in enumerate(TREATED):
        p = round(0.9 - 0.06 * i, 2)
        for run, version, prob, is_current, day in (
            (current, "1", p, True, 2),
            (earlier, "0", 1 - p, False, 1),
        ):
            cur.execute(
                "insert into ml.early_response_predictions (scoring_run_id, usubjid, model_name, "
                "model_version, probability, predicted_class, decision_threshold, scored_at, is_current, "
                "feature_snapshot_hash, features) values (%s, %s, 'early_response', %s, %s, %s, 0.5, %s, "
                "%s, 'h', %s)",
                (
                    run,
                    u,
                    version,
                    prob,
                    prob >= 0.5,
                    datetime(2026, 3, day, 3, tzinfo=UTC),
                    is_current,
                    json.dumps({}),
                ),
            )


def build_fixture_marts(conn: psycopg.Connection) -> None:
    """Create the marts, audit and ml tables the report reads, with the cohort above."""
    ensure_raw_layer(conn)
    cur = conn.cursor()
    for schema in ("marts", "audit", "ml"):
        cur.execute(f"create schema if not exists {schema}")
    subjects = _subjects()
    first_dose = {s["usubjid"]: s.get("first_dose_date") for s in subjects}
    assessments, best, tte = _efficacy(first_dose)
    blood, general = "BLOOD AND LYMPHATIC SYSTEM DISORDERS", "GENERAL DISORDERS"
    kept, withdrawn, interrupted = "DOSE NOT CHANGED", "DRUG WITHDRAWN", "DRUG INTERRUPTED"
    ae = [
        ("CFZ-01", 1, "THROMBOCYTOPENIA", 4, True, True, blood, True, interrupted),
        ("CFZ-01", 2, "FATIGUE", 1, True, False, general, False, kept),
        ("CFZ-02", 1, "THROMBOCYTOPENIA", 3, True, False, blood, False, kept),
        ("CFZ-03", 1, "FATIGUE", 1, True, False, general, False, kept),
        ("CFZ-04", 1, "FATIGUE", 2, True, False, general, False, kept),
        ("CFZ-05", 1, "NAUSEA", 1, False, False, "GASTROINTESTINAL DISORDERS", False, kept),
        ("CFZ-10", 1, "PNEUMONIA", 3, True, True, "INFECTIONS AND INFESTATIONS", True, withdrawn),
        ("CFZ-11", 1, "DYSPNOEA", 2, True, False, "RESPIRATORY DISORDERS", False, kept),
    ]
    tables = {
        "dim_subject": subjects,
        "fct_eligibility": _eligibility(subjects),
        "fct_dose_escalation": [
            {
                "dose_level": lvl,
                "n_treated": n,
                "n_dlt_evaluable": n,
                "n_with_dlt": k,
                "decision": dec,
                "is_mtd": lvl == 27,
                "mtd_status": "MTD established",
                "mtd_reason": "MTD is 27 mg/m2",
            }
            for lvl, n, k, dec in (
                (20, 3, 0, "escalate"),
                (27, 6, 1, "escalate"),
                (36, 3, 2, "above MTD"),
            )
        ],
        "fct_adverse_events": [
            dict(
                zip(
                    (
                        "usubjid",
                        "aeseq",
                        "aedecod",
                        "aetoxgr",
                        "is_teae",
                        "is_dlt",
                        "aebodsys",
                        "is_serious",
                        "aeacn",
                    ),
                    r,
                    strict=True,
                )
            )
            for r in ae
        ],
        "fct_lab_results": _labs(first_dose),
        "fct_response_assessments": assessments,
        "fct_best_response": best,
        "fct_time_to_event": tte,
        "rpt_survival_curves": [dict(zip(CURVE_KEYS, r, strict=True)) for r in CURVES],
        "rpt_study_endpoints": [
            {
                "endpoint": e,
                "population": "OVERALL",
                "n_subjects": 12,
                "n_count": k,
                "estimate": k / 12,
                "ci_lower": lo,
                "ci_upper": hi,
                "unit": "proportion",
                "method": "Clopper-Pearson",
                "analysis_population": "response-evaluable",
                "population_flag": "respevalfl",
            }
            for e, k, lo, hi in ENDPOINTS
        ],
        "fct_ml_features": [
            {"usubjid": u, "label_pr": BEST[u][1] in {"CR", "VGPR", "PR"}} for u in TREATED
        ],
        "fct_disposition": _disposition(),
        "fct_vital_signs": _vital_signs(first_dose),
        "fct_cycle_bsa": _cycle_bsa(),
        "fct_concomitant_medications": _con_meds(first_dose),
        "fct_performance_status": _performance_status(),
        "fct_medical_history": _medical_history(),
        "data_issues": [
            {
                "domain": "lb",
                "usubjid": "CFZ-03",
                "natural_key": "PLAT/2026-02-01",
                "column_name": "lborresu",
                "value": "furlongs",
                "issue": "unknown unit",
                "_delivery_id": "20260201T020000",
                "_file": "20260201T020000/lb.csv",
                "_line": "12",
            }
        ],
    }
    for schema, table in CONTRACT_TABLES:
        _create(cur, schema, table, tables[table])
    _ledger(cur)
    _predictions(cur)
    conn.commit() if not conn.autocommit else None

"""A small, hand-built `marts` schema shaped like the dbt marts, for the report tests.

14 screened subjects: 12 treated (8 in group A, 4 in group B), SF01 fails E3 (PD 120 days
after the last bortezomib dose), SF02 has E6 not evaluable. Dose levels 20 / 27 / 36 mg/m2
with 0/3, 1/6 and 2/3 DLTs, so the MTD is 27. Five subjects entered maintenance.
Everything a test asserts is derivable by hand from the literals below.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

D0 = date(2026, 1, 5)
TREATED = [f"CFZ-{i:02d}" for i in range(1, 13)]
GROUP = {u: ("A" if i < 8 else "B") for i, u in enumerate(TREATED)}
DOSE = {u: (20 if i < 3 else 27 if i < 9 else 36) for i, u in enumerate(TREATED)}
# best % change of the driving parameter and best response per treated subject
BEST = {
    "CFZ-01": (-95.0, "VGPR"), "CFZ-02": (-62.0, "PR"), "CFZ-03": (-55.0, "PR"), "CFZ-04": (-30.0, "MR"),
    "CFZ-05": (-10.0, "SD"), "CFZ-06": (35.0, "PD"), "CFZ-07": (-99.0, "CR"), "CFZ-08": (-51.0, "PR"),
    "CFZ-09": (-20.0, "SD"), "CFZ-10": (-70.0, "PR"), "CFZ-11": (40.0, "PD"), "CFZ-12": (-27.0, "MR"),
}
MAINTENANCE = {"CFZ-01", "CFZ-02", "CFZ-03", "CFZ-07", "CFZ-10"}
DEATH = {"CFZ-11": D0 + timedelta(days=150)}


def _create(cur: psycopg.Cursor, ddl: str, rows: list[tuple]) -> None:
    cur.execute(ddl)
    if rows:
        table = ddl.split("(", 1)[0].replace("create table", "").strip()
        marks = ", ".join(["%s"] * len(rows[0]))
        cur.executemany(f"insert into {table} values ({marks})", rows)


def build_fixture_marts(conn: psycopg.Connection) -> None:
    """Create the marts, audit and ml tables the report reads, with the cohort above."""
    cur = conn.cursor()
    for schema in ("marts", "audit", "ml"):
        cur.execute(f"create schema if not exists {schema}")
    subjects = []
    for i, u in enumerate(TREATED):
        first = D0 + timedelta(days=7 * i)
        n_cycles = 8 if u in MAINTENANCE else (3 if BEST[u][1] == "PD" else 6)
        last = first + timedelta(days=28 * n_cycles - 13)
        maint = first + timedelta(days=28 * 8 + 28) if u in MAINTENANCE else None
        if maint:
            last = maint + timedelta(days=28 * 3 + 15)
        subjects.append((u, GROUP[u], GROUP[u] == "B", DOSE[u], "escalation", 55 + i, "F" if i % 3 else "M",
                         "WHITE", first, last, 2.5 + 0.4 * i, 3.9 - 0.05 * i,
                         ["I", "II", "III"][i % 3], "serum" if i % 4 else "FLC", True, "Y", "Y", "Y",
                         u in MAINTENANCE, maint, DEATH.get(u), GROUP[u]))
    for u in ("SF01", "SF02"):
        subjects.append((u, None, False, None, None, 70, "M", "ASIAN", None, None, 4.0, 3.0, "II", "serum",
                         False, "N", "N", "N", False, None, None, "SCRNFAIL"))
    _create(cur, """create table marts.dim_subject (usubjid text primary key, "group" text, imid_regimen boolean,
        doselvl numeric, cohort text, age integer, sex text, race text, first_dose_date date, last_dose_date date,
        baseline_b2m numeric, baseline_albumin numeric, iss_stage text, measurable_disease_type text,
        is_eligible boolean, saffl text, dltevalfl text, respevalfl text, entered_maintenance boolean,
        maintenance_start_date date, death_date date, armcd text)""", subjects)
    # CFZ-09: assigned to group B (ARMCD) but derived group A (as if its index regimen had no
    # IMiD): the endpoints section lists it; by-group endpoints use the assigned group
    cur.execute("""alter table marts.dim_subject add column derived_group text, add column group_mismatch boolean,
        add column analysis_group text, add column analysis_group_source text""")
    cur.execute("""update marts.dim_subject set derived_group = case when usubjid = 'CFZ-09' then 'A' else "group" end,
        analysis_group = "group", analysis_group_source = case when "group" is not null then 'assigned' end""")
    cur.execute("update marts.dim_subject set group_mismatch = derived_group is distinct from \"group\" "
                "and derived_group is not null")

    elig = []
    for u, *_ in subjects:
        for k in range(1, 8):
            cid, status, evidence = f"E{k}", "met", "ok"
            if u == "SF01" and k == 3:
                status, evidence = "not_met", "PD 120 days after the last bortezomib dose (limit 84)"
            if u == "SF02" and k == 6:
                status, evidence = "not_evaluable", "no baseline serum or urine M-protein"
            elig.append((u, cid, status, evidence))
    _create(cur, "create table marts.fct_eligibility (usubjid text, criterion_id text, status text, evidence text)",
            elig)

    _create(cur, """create table marts.fct_dose_escalation (dose_level numeric, n_treated integer,
        n_dlt_evaluable integer, n_with_dlt integer, decision text, is_mtd boolean, mtd_status text,
        mtd_reason text)""",
            [(lvl, n, n, k, dec, lvl == 27, "MTD established", "MTD is 27 mg/m2")
             for lvl, n, k, dec in ((20, 3, 0, "escalate"), (27, 6, 1, "escalate"), (36, 3, 2, "above MTD"))])

    ae = [("CFZ-01", 1, "THROMBOCYTOPENIA", 4, True, True), ("CFZ-01", 2, "FATIGUE", 1, True, False),
          ("CFZ-02", 1, "THROMBOCYTOPENIA", 3, True, False), ("CFZ-03", 1, "FATIGUE", 1, True, False),
          ("CFZ-04", 1, "FATIGUE", 2, True, False), ("CFZ-05", 1, "NAUSEA", 1, False, False),
          ("CFZ-10", 1, "PNEUMONIA", 3, True, True), ("CFZ-11", 1, "DYSPNOEA", 2, True, False)]
    _create(cur, """create table marts.fct_adverse_events (usubjid text, aeseq integer, aedecod text,
        aetoxgr integer, is_teae boolean, is_dlt boolean)""", ae)

    labs = []
    plat = {"CFZ-01": ("0", ["0", "2", "4"]), "CFZ-02": ("1", ["1", "3", "2"]), "CFZ-03": ("0", ["0", "0", "0"])}
    for u, (base, post) in plat.items():
        first = subjects[TREATED.index(u)][8]
        labs.append((u, "PLAT", first - timedelta(days=1), 200.0, True, base, "", base, ""))
        for j, g in enumerate(post):
            labs.append((u, "PLAT", first + timedelta(days=8 * (j + 1)), 100.0, False, base, "", g, ""))
    labs.append(("CFZ-01", "CREAT", D0 - timedelta(days=1), 80.0, True, "", "0", "", "0"))
    labs.append(("CFZ-01", "CREAT", D0 + timedelta(days=15), 150.0, False, "", "0", "", "2"))
    labs.append(("CFZ-01", "SODIUM", D0 + timedelta(days=15), 140.0, False, "", "", "", ""))
    _create(cur, """create table marts.fct_lab_results (usubjid text, lbtestcd text, lbdt date, aval numeric,
        is_baseline boolean, btoxgrl text, btoxgrh text, atoxgrl text, atoxgrh text)""", labs)

    assessments, best, tte = [], [], []
    for u in TREATED:
        first = subjects[TREATED.index(u)][8]
        target, resp = BEST[u]
        for k in range(1, 7):
            pct = target * min(1.0, k / 3.0)
            cat = resp if k >= 3 else ("SD" if resp != "PD" else "SD")
            driver = "FLC" if u == "CFZ-04" else "SERUM"  # CFZ-04 has light-chain-only disease
            serum_pct, flc_pct = (None, pct) if driver == "FLC" else (pct, 900.0)
            assessments.append((u, k, first + timedelta(days=28 * k), 28 * k + 1, driver, serum_pct, flc_pct,
                                cat, k >= 4))
        best.append((u, resp, resp in {"CR", "VGPR", "PR"}, resp in {"CR", "VGPR", "PR", "MR"}))
        pd_event = resp == "PD"
        tte.append((u, "TTP", first, first + timedelta(days=85 if pd_event else 169),
                    85 if pd_event else 169, 0 if pd_event else 1))
    _create(cur, """create table marts.fct_response_assessments (usubjid text, assessment_seq integer,
        assessment_date date, ady integer, response_driver text, serum_m_pct_change numeric,
        dflc_pct_change numeric, imwg_category text, is_confirmed boolean)""", assessments)
    _create(cur, """create table marts.fct_best_response (usubjid text, best_response text, is_responder boolean,
        is_clinical_benefit boolean)""", best)
    _create(cur, """create table marts.fct_time_to_event (usubjid text, paramcd text, startdt date, adt date,
        aval integer, cnsr integer)""", tte)

    curves = [("TTP", "OVERALL", 0, 12, 0, 1.0, 1.0, 1.0), ("TTP", "OVERALL", 85, 12, 2, 0.833, 0.48, 0.96),
              ("TTP", "OVERALL", 169, 10, 0, 0.833, 0.48, 0.96),
              ("TTP", "GROUP A", 0, 8, 0, 1.0, 1.0, 1.0), ("TTP", "GROUP A", 85, 8, 1, 0.875, 0.39, 0.98),
              ("TTP", "GROUP A", 169, 7, 0, 0.875, 0.39, 0.98),
              ("TTP", "GROUP B", 0, 4, 0, 1.0, 1.0, 1.0), ("TTP", "GROUP B", 85, 4, 1, 0.75, 0.13, 0.96),
              ("TTP", "GROUP B", 169, 3, 0, 0.75, 0.13, 0.96),
              ("PFSMAINT", "OVERALL", 0, 5, 0, 1.0, 1.0, 1.0), ("PFSMAINT", "OVERALL", 60, 5, 1, 0.8, 0.2, 0.97),
              ("PFSMAINT", "OVERALL", 110, 4, 0, 0.8, 0.2, 0.97),
              ("DOR", "OVERALL", 0, 6, 0, 1.0, 1.0, 1.0)]
    _create(cur, """create table marts.rpt_survival_curves (paramcd text, population text, time double precision,
        n_at_risk integer, n_events integer, survival double precision, ci_lower double precision,
        ci_upper double precision)""", curves)
    _create(cur, """create table marts.rpt_study_endpoints (endpoint text, population text, n_subjects integer,
        n_count integer, estimate double precision, ci_lower double precision, ci_upper double precision,
        method text)""",
            [("ORR_PROTOCOL", "OVERALL", 12, 8, 8 / 12, 0.349, 0.901, "Clopper-Pearson"),
             ("ORR_CONVENTIONAL", "OVERALL", 12, 6, 6 / 12, 0.211, 0.789, "Clopper-Pearson")])

    cur.execute("""create table if not exists audit.ingest_files (file_id bigint, run_id text, delivery_id text,
        domain text, file_name text, rel_path text, sha256 text, size_bytes bigint, rows_read integer,
        rows_loaded integer, rows_rejected integer, status text, reason text, started_at timestamptz,
        finished_at timestamptz)""")
    cur.executemany("insert into audit.ingest_files values (%s,'r1',%s,%s,%s,%s,'x',10,%s,%s,%s,%s,null,now(),now())",
                    [(1, "20260201T020000", "dm", "dm.csv", "20260201T020000/dm.csv", 14, 14, 0, "loaded"),
                     (2, "20260201T020000", "lb", "lb.csv", "20260201T020000/lb.csv", 100, 98, 2, "loaded"),
                     (3, "20260301T020000", "lb", "lb.csv", "20260301T020000/lb.csv", 50, 50, 0, "loaded")])
    cur.execute("""create table if not exists audit.ingest_rejects (file_id bigint, delivery_id text, rel_path text,
        line integer, column_name text, value text, reason text)""")
    cur.executemany("insert into audit.ingest_rejects values (2,'20260201T020000','20260201T020000/lb.csv',%s,'lbdtc',%s,%s)",
                    [(7, "2026-13-01", "unparseable date"), (9, "", "missing required value")])
    cur.execute("""create table if not exists audit.data_issues (domain text, usubjid text, natural_key text,
        column_name text, value text, issue text, _delivery_id text, _file text, _line integer)""")
    cur.execute("insert into audit.data_issues values ('lb','CFZ-03','PLAT/2026-02-01','lborresu','furlongs',"
                "'unknown unit','20260201T020000','20260201T020000/lb.csv',12)")

    _create(cur, "create table marts.fct_ml_features (usubjid text, label_pr boolean)",
            [(u, BEST[u][1] in {"CR", "VGPR", "PR"}) for u in TREATED])
    probs = {u: round(0.9 - 0.06 * i, 2) for i, u in enumerate(TREATED)}
    _create(cur, """create table ml.early_response_predictions (usubjid text, model_version text,
        probability double precision, predicted_class integer)""",
            [(u, "1", p, int(p >= 0.5)) for u, p in probs.items()])
    conn.commit() if not conn.autocommit else None

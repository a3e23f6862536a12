"""A tiny hand-made trial in the raw layer and a stand-in mart build, for the gate tests.

The raw rows follow the contract of docs/architecture.md (text columns, lineage columns);
the stand-in build writes the marts the gate reads (documented column names) from the raw
layer with plain SQL, then the real ``cfz_platform.stats.write_endpoint_tables``.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from cfz_platform.contract.domains import DOMAINS
from cfz_platform.db import warehouse

LINEAGE = ("_file_id", "_delivery_id", "_file", "_line", "_row_hash")
FIRST_DELIVERY = "20260315T020000"


def _ledger_file(conn: psycopg.Connection, domain: str, delivery: str, n_rows: int) -> int:
    """A loaded file in ``audit.ingest_files`` (the gate and the build read raw up to the last one)."""
    import uuid

    return conn.execute(
        "insert into audit.ingest_files (run_id, delivery_id, domain, file_name, rel_path, sha256, size_bytes, "
        "rows_read, rows_loaded, status, started_at) "
        "values ('test', %s, %s, %s, %s, %s, 0, %s, %s, 'loaded', now()) returning file_id",
        (
            delivery,
            domain,
            f"{domain}.csv",
            f"{delivery}/{domain}.csv",
            uuid.uuid4().hex,
            n_rows,
            n_rows,
        ),
    ).fetchone()[0]


def insert_raw(
    conn: psycopg.Connection, domain: str, delivery: str, rows: Iterable[dict], first_line: int = 2
) -> None:
    """Append rows to raw.<domain> as ingestion would (one ledger file per call)."""
    rows = list(rows)
    if not rows:
        return
    file_id = _ledger_file(conn, domain, delivery, len(rows))
    cols = list(rows[0])
    stmt = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier("raw", domain),
        sql.SQL(", ").join(sql.Identifier(c) for c in (*LINEAGE, *cols)),
        sql.SQL(", ").join(sql.Placeholder() * (len(LINEAGE) + len(cols))),
    )
    with conn.cursor() as cur:
        cur.executemany(
            stmt,
            [
                (
                    file_id,
                    delivery,
                    f"{delivery}/{domain}.csv",
                    first_line + i,
                    "h",
                    *(r[c] for c in cols),
                )
                for i, r in enumerate(rows)
            ],
        )


def subjects(n: int) -> list[str]:
    return [f"CFZ-01-{i:04d}" for i in range(1, n + 1)]


def load_clean_trial(
    conn: psycopg.Connection, n: int = 12, delivery: str = FIRST_DELIVERY
) -> list[str]:
    """DM, LB (serum M-protein, albumin, platelets), RS and EX rows for ``n`` subjects."""
    ids = subjects(n)
    insert_raw(
        conn,
        "dm",
        delivery,
        [
            {
                "usubjid": s,
                "siteid": "01",
                "armcd": "A" if i % 3 else "B",
                "rfstdtc": "2026-01-05",
                "brthdtc": "1950-02-03",
                "doselvl": "20",
                "cohort": "ESCALATION",
            }
            for i, s in enumerate(ids)
        ],
    )
    lb = []
    for i, s in enumerate(ids):
        for day, m in (("2026-01-05", 3.0 + i / 10), ("2026-02-02", 1.5), ("2026-03-02", 1.2)):
            lb.append(
                {
                    "usubjid": s,
                    "lbtestcd": "MPROTEIN",
                    "lbspec": "SERUM",
                    "lborres": f"{m:.2f}",
                    "lborresu": "g/dL",
                    "lbdtc": day,
                }
            )
        lb.append(
            {
                "usubjid": s,
                "lbtestcd": "ALB",
                "lbspec": "SERUM",
                "lborres": "38",
                "lborresu": "g/L",
                "lbdtc": "2026-01-05",
            }
        )
        lb.append(
            {
                "usubjid": s,
                "lbtestcd": "PLT",
                "lbspec": None,
                "lborres": "180",
                "lborresu": "10^9/L",
                "lbdtc": "2026-01-05",
            }
        )
    insert_raw(conn, "lb", delivery, lb)
    insert_raw(
        conn,
        "rs",
        delivery,
        [
            {
                "usubjid": s,
                "rstestcd": "OVRLRESP",
                "rsstresc": "PR",
                "rsdtc": "2026-03-02",
                "rslnkgrp": None,
            }
            for s in ids
        ],
    )
    insert_raw(
        conn,
        "ex",
        delivery,
        [
            {
                "usubjid": s,
                "extrt": "CARFILZOMIB",
                "exdose": "20",
                "exdosu": "mg/m2",
                "exstdtc": "2026-01-05",
                "visit": "C1D1",
            }
            for s in ids
        ],
    )
    return ids


def reset_raw(conn: psycopg.Connection) -> None:
    """Empty the raw tables (test databases only; the real raw layer is append-only)."""
    for d in DOMAINS:
        conn.execute(sql.SQL("truncate {}").format(sql.Identifier("raw", d)))


MART_SQL = [
    "drop table if exists {s}.dim_subject, {s}.fct_cycles, {s}.fct_eligibility, {s}.fct_best_response, "
    "{s}.fct_time_to_event, {s}.rpt_study_endpoints, {s}.rpt_survival_curves, {s}.fct_disposition, "
    "{s}.fct_adverse_events cascade",
    "create table {s}.dim_subject as select d.usubjid, case when d.armcd = 'A' then 'A' else 'B' end as \"group\", "
    "false as imid_regimen, false as group_mismatch, d.rfstdtc::date as first_dose_date, true as respevalfl "
    "from (select distinct on (usubjid) * from raw.dm order by usubjid, _delivery_id desc, _file_id desc, _line desc) d",
    "create table {s}.fct_cycles as select usubjid, 1 as cycle, 1.0::numeric as relative_dose_intensity from {s}.dim_subject",
    "create table {s}.fct_eligibility as select d.usubjid, 'E' || g as criterion_id, 'met'::text as status "
    "from {s}.dim_subject d cross join generate_series(1, 7) g",
    "create table {s}.fct_best_response as select usubjid, 'PR'::text as best_response, true as is_responder, "
    "true as is_clinical_benefit, null::date as best_response_date from {s}.dim_subject",
    "create table {s}.fct_time_to_event as select usubjid, 'TTP'::text as paramcd, 90::numeric as aval, "
    "1 as cnsr, first_dose_date as startdt, first_dose_date + 89 as adt from {s}.dim_subject",
    # the first subject stopped treatment for an AE on day 41, recorded as DRUG WITHDRAWN on day 31
    "create table {s}.fct_disposition as select usubjid, "
    "case when usubjid = (select min(usubjid) from {s}.dim_subject) then 'ADVERSE EVENT' end as dctreas, "
    "case when usubjid = (select min(usubjid) from {s}.dim_subject) then first_dose_date + 40 end as eotdt, "
    "case when usubjid = (select min(usubjid) from {s}.dim_subject) then 'END OF TREATMENT' end as eot_source "
    "from {s}.dim_subject",
    "create table {s}.fct_adverse_events as select usubjid, 'DRUG WITHDRAWN'::text as aeacn, "
    "first_dose_date + 30 as aestdt from {s}.dim_subject where usubjid = (select min(usubjid) from {s}.dim_subject)",
    "drop table if exists {s}.fct_response_assessments",
    "create table {s}.fct_response_assessments as select usubjid, 1 as assessment_seq, "
    "first_dose_date + 56 as assessment_date from {s}.dim_subject",
]

#: Stand-in ADaM datasets (the columns the mart gate reads), derived from the stand-in marts.
ADAM_SQL = [
    "create schema if not exists {a}",
    "drop table if exists {a}.adsl, {a}.adae, {a}.adex, {a}.adrs, {a}.adtte cascade",
    "create table {a}.adsl as select usubjid, first_dose_date as trtsdt from {s}.dim_subject",
    "create table {a}.adae (usubjid text, aeseq integer, aespid text)",
    "create table {a}.adex (usubjid text, paramcd text, srckey text)",
    "create table {a}.adrs as select usubjid, 'CBOR'::text as paramcd, best_response as avalc, "
    "best_response_date as adt, null::integer as aseq from {s}.fct_best_response",
    "create table {a}.adtte as select usubjid, paramcd, startdt, adt, aval, cnsr from {s}.fct_time_to_event",
]


def build_marts(schema: str, notes: list[str] | None = None, plant: str | None = None) -> None:
    """Stand-in for dbt: write the gate's marts into ``schema`` (and the ADaM tables the gate
    reads into its ADaM schema); ``plant`` injects a problem.

    Problems: ``duplicate_subject`` (a second dim_subject row), ``rdi`` (RDI 3.0 in one
    cycle), ``missing_criterion`` (a subject with 6 criteria), ``non_evaluable_in_tte`` (a
    subject not response-evaluable, whose time-to-event row stays in fct_time_to_event as it
    should, counted in the KM endpoint anyway: the endpoint row as the pre-issue-15 code wrote
    it, which read the TTE rows without the population flag), ``ae_after_discontinuation``
    (the first subject's DRUG WITHDRAWN AE starts 10 days after its DS end of treatment for an
    AE, day 41, instead of 10 days before it).
    """
    from cfz_platform.config import adam_schema_for
    from cfz_platform.stats import write_endpoint_tables

    s, a = sql.Identifier(schema), sql.Identifier(adam_schema_for(schema))
    with warehouse.connect() as conn:
        for stmt in MART_SQL:
            conn.execute(sql.SQL(stmt).format(s=s))
        for stmt in ADAM_SQL:
            conn.execute(sql.SQL(stmt).format(s=s, a=a))
        if plant == "duplicate_subject":
            conn.execute(
                sql.SQL(
                    "insert into {s}.dim_subject select * from {s}.dim_subject "
                    "order by usubjid limit 1"
                ).format(s=s)
            )
        elif plant == "rdi":
            conn.execute(
                sql.SQL(
                    "update {s}.fct_cycles set relative_dose_intensity = 3.0 where usubjid = "
                    "(select min(usubjid) from {s}.fct_cycles)"
                ).format(s=s)
            )
        elif plant == "non_evaluable_in_tte":
            conn.execute(
                sql.SQL(
                    "update {s}.dim_subject set respevalfl = false where usubjid = "
                    "(select min(usubjid) from {s}.dim_subject)"
                ).format(s=s)
            )
        elif plant == "ae_after_discontinuation":
            conn.execute(
                sql.SQL("update {s}.fct_adverse_events set aestdt = aestdt + 20").format(s=s)
            )
        elif plant == "missing_criterion":
            conn.execute(
                sql.SQL(
                    "delete from {s}.fct_eligibility where criterion_id = 'E7' and usubjid = "
                    "(select min(usubjid) from {s}.fct_eligibility)"
                ).format(s=s)
            )
        write_endpoint_tables(conn, schema)
        if plant == "non_evaluable_in_tte":
            conn.execute(
                sql.SQL(
                    "update {s}.rpt_study_endpoints set n_subjects = n_subjects + 1 "
                    "where endpoint = 'MEDIAN_TTP' and population = 'OVERALL'"
                ).format(s=s)
            )
        conn.commit()


def marts_fingerprint(conn: psycopg.Connection) -> str:
    """A digest of what a BI reader sees in marts.dim_subject and marts.fct_best_response."""
    return conn.execute(
        "select md5(coalesce((select string_agg(t::text, '|' order by t::text) from marts.dim_subject t), '') "
        "|| coalesce((select string_agg(t::text, '|' order by t::text) from marts.fct_best_response t), ''))"
    ).fetchone()[0]

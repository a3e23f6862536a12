"""Study endpoint tables written after ``dbt build``: rpt_study_endpoints, rpt_survival_curves.

Both tables are rebuilt in one transaction from the efficacy marts of the same schema
(``fct_best_response``, ``fct_time_to_event``, ``dim_subject`` and, when present,
``fct_dose_escalation``). Column types are fixed here (see ``ENDPOINT_COLUMNS`` and
``CURVE_COLUMNS``) and documented in dbt/models/marts/efficacy/_efficacy__sources.yml.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cfz_platform.stats.binomial import compute_clopper_pearson
from cfz_platform.stats.km import compute_kaplan_meier

log = logging.getLogger(__name__)

RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]
TTE_PARAMS = ["TTP", "PFSMAINT", "DOR"]

ENDPOINT_COLUMNS: list[tuple[str, str]] = [
    ("endpoint", "text"), ("population", "text"), ("n_subjects", "integer"), ("n_count", "integer"),
    ("n_events", "integer"), ("n_censored", "integer"), ("estimate", "double precision"),
    ("ci_lower", "double precision"), ("ci_upper", "double precision"), ("unit", "text"),
    ("method", "text"), ("note", "text"),
]
CURVE_COLUMNS: list[tuple[str, str]] = [
    ("paramcd", "text"), ("population", "text"), ("time", "double precision"), ("n_at_risk", "integer"),
    ("n_events", "integer"), ("n_censored", "integer"), ("survival", "double precision"),
    ("ci_lower", "double precision"), ("ci_upper", "double precision"),
]


@dataclass
class EndpointTables:
    endpoints: list[tuple]
    curves: list[tuple]


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def _populations(rows: list[dict]) -> dict[str, list[dict]]:
    """'OVERALL' plus one population per group label (rows without a group only in OVERALL)."""
    pops: dict[str, list[dict]] = {"OVERALL": rows}
    for g in sorted({r["grp"] for r in rows if r["grp"] is not None}):
        pops[f"GROUP {g}"] = [r for r in rows if r["grp"] == g]
    return pops


def compute_endpoint_rows(best: list[dict], tte: list[dict], escalation: list[dict] | None) -> EndpointTables:
    """Compute every endpoint row and KM curve row from plain records.

    Steps:
    1. response endpoints per population (response-evaluable subjects): protocol ORR (>= MR)
       and conventional ORR (>= PR) with Clopper-Pearson 95% CIs; counts per best response;
    2. per time-to-event parameter and population: KM median with log-log 95% CI, events,
       censored; the curve rows for plotting;
    3. MTD and DLT count from the dose-escalation mart when it exists.
    """
    endpoints: list[tuple] = []
    curves: list[tuple] = []
    for pop, rows in _populations(best).items():
        n = len(rows)
        for endpoint, key, label in (
            ("ORR_PROTOCOL", "is_clinical_benefit", "best confirmed response >= MR (protocol ORR)"),
            ("ORR_CONVENTIONAL", "is_responder", "best confirmed response >= PR"),
        ):
            x = sum(1 for r in rows if r[key])
            p, lo, hi = compute_clopper_pearson(x, n)
            endpoints.append((endpoint, pop, n, x, None, None, p, lo, hi, "proportion",
                              "Clopper-Pearson exact 95% CI", label))
        for cat in RESPONSE_ORDER:
            x = sum(1 for r in rows if r["best_response"] == cat)
            endpoints.append((f"BOR_{cat.upper()}", pop, n, x, None, None, (x / n) if n else None, None, None,
                              "proportion", "count", f"subjects with best confirmed response {cat}"))
    for param in TTE_PARAMS:
        prow = [r for r in tte if r["paramcd"] == param]
        for pop, rows in _populations(prow).items():
            km = compute_kaplan_meier([r["aval"] for r in rows], [1 - r["cnsr"] for r in rows])
            note = None if km.median is not None else "median not reached"
            endpoints.append((f"MEDIAN_{param}", pop, km.n_subjects, None, km.total_events,
                              km.n_subjects - km.total_events, km.median, km.median_lower, km.median_upper,
                              "days", "Kaplan-Meier, Greenwood variance, log-log 95% CI (Brookmeyer-Crowley)", note))
            for i, t in enumerate(km.time):
                curves.append((param, pop, t, km.n_at_risk[i], km.n_events[i], km.n_censored[i],
                               km.survival[i], km.ci_lower[i], km.ci_upper[i]))
    if escalation is not None:
        mtd = [r for r in escalation if r.get("is_mtd")]
        dlts = sum(int(r.get("n_with_dlt") or 0) for r in escalation)
        evaluable = sum(int(r.get("n_dlt_evaluable") or 0) for r in escalation)
        endpoints.append(("MTD", "OVERALL", None, None, None, None,
                          float(mtd[0]["dose_level"]) if mtd else None, None, None, "mg/m2", "3+3",
                          None if mtd else "MTD not established"))
        endpoints.append(("DLT_COUNT", "OVERALL", evaluable, dlts, None, None, None, None, None, "count",
                          "DLT rules (domain.md 5)", "DLTs among DLT-evaluable subjects"))
    return EndpointTables(endpoints=endpoints, curves=curves)


def _fetch(conn: psycopg.Connection, query: sql.Composable) -> list[dict]:
    cur = conn.execute(query)
    names = [d.name for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _replace_table(conn: psycopg.Connection, schema: str, table: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
    ident = sql.Identifier(schema, table)
    conn.execute(sql.SQL("drop table if exists {}").format(ident))
    conn.execute(sql.SQL("create table {} ({})").format(
        ident, sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns)))
    with conn.cursor() as cur, cur.copy(sql.SQL("copy {} ({}) from stdin").format(
            ident, sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns))) as copy:
        for row in rows:
            copy.write_row(row)


def write_endpoint_tables(conn: psycopg.Connection, marts_schema: str) -> EndpointTables:
    """Rebuild rpt_study_endpoints and rpt_survival_curves in ``marts_schema``.

    Steps:
    1. read best responses joined to dim_subject (group, response-evaluable flag) and the
       time-to-event rows; dose escalation when that mart exists;
    2. compute the rows (``compute_endpoint_rows``);
    3. in one transaction, drop and recreate both tables with fixed column types and COPY
       the rows in.
    """
    s = sql.Identifier(marts_schema)
    if not _table_exists(conn, marts_schema, "dim_subject"):
        log.warning("%s.dim_subject is missing: endpoints are computed for all subjects, without groups", marts_schema)
        best = _fetch(conn, sql.SQL(
            "select usubjid, null::text as grp, best_response, is_responder, is_clinical_benefit "
            "from {}.fct_best_response order by usubjid").format(s))
        tte = _fetch(conn, sql.SQL(
            "select usubjid, null::text as grp, paramcd, aval::float8 as aval, cnsr "
            "from {}.fct_time_to_event order by 1, 3").format(s))
        return _write(conn, marts_schema, best, tte)
    best = _fetch(conn, sql.SQL(
        "select b.usubjid, d.\"group\"::text as grp, b.best_response, b.is_responder, b.is_clinical_benefit "
        "from {}.fct_best_response b join {}.dim_subject d using (usubjid) "
        "where coalesce(d.respevalfl, false) order by b.usubjid").format(s, s))
    tte = _fetch(conn, sql.SQL(
        "select t.usubjid, d.\"group\"::text as grp, t.paramcd, t.aval::float8 as aval, t.cnsr "
        "from {}.fct_time_to_event t join {}.dim_subject d using (usubjid) "
        "where coalesce(d.respevalfl, false) order by 1, 3").format(s, s))  # KM: response-evaluable only
    return _write(conn, marts_schema, best, tte)


def _write(conn: psycopg.Connection, marts_schema: str, best: list[dict], tte: list[dict]) -> EndpointTables:
    s = sql.Identifier(marts_schema)
    escalation = None
    if _table_exists(conn, marts_schema, "fct_dose_escalation"):
        escalation = _fetch(conn, sql.SQL("select * from {}.fct_dose_escalation").format(s))
    tables = compute_endpoint_rows(best, tte, escalation)
    with conn.transaction():
        _replace_table(conn, marts_schema, "rpt_study_endpoints", ENDPOINT_COLUMNS, tables.endpoints)
        _replace_table(conn, marts_schema, "rpt_survival_curves", CURVE_COLUMNS, tables.curves)
    log.info("wrote %d endpoint rows and %d curve rows into %s", len(tables.endpoints), len(tables.curves), marts_schema)
    return tables

"""The raw gate: checks on the raw layer after ingestion, before dbt.

Each contract domain (feeds.md) gets one suite over its *current* records (the same rule as
staging, ``dbt/macros/parsing.sql`` ``current_versions``): rows of a file that a re-sent file
of the same path and delivery superseded no longer count; each row is keyed by its *extended*
natural key (the business key plus the qualifiers present: --TPTNUM, --TPT, --POS, --LOC,
--SPEC, --SEQ); the newest delivery, then the newest file, holding a key wins, with every
row it holds for that key. A bad value that a later delivery or a re-sent file corrected no
longer blocks. Checks, per domain:

1. required columns exist (blocking); natural-key columns non-null (blocking); result
   columns (LBORRES, EXDOSE, RSSTRESC, AETERM, VSORRES) non-null (warning for any gap,
   blocking when more than ``FLOOD_THRESHOLD`` of rows miss it); other required columns
   non-null (warning: e.g. screen failures legitimately have no RFSTDTC; numeric lab results
   only need a unit);
2. controlled terminology: lab test codes, units and specimens (from the dbt seeds), RS
   response / ECOG / skeletal-survey values: warning for any unknown value, blocking for a
   flood;
3. lab values physically possible for the test, after converting to the standard unit with
   the seed's factor (blocking);
4. dates plausible for the study and the domain (feeds.md): never after the delivery that
   carries them (the delivery id is its timestamp); on-study records (LB, EX, VS, RS other
   than prior-therapy PD) not before the earliest RFSTDTC's month minus
   ``study_date_window_days``; history (AE, CM onsets, DM dates, prior-therapy PD) only not
   before ``date_sanity_floor`` (both dbt vars; blocking for start / collection dates,
   warning for end dates and CM);
5. rows identical in their extended natural key within the file that supplies them: listed
   as a warning (real SDTM does this; staging keeps each row), except DM, whose one record
   per subject makes a repeated USUBJID a conflict (blocking);
6. every subject known to DM (orphans: warning, staging keeps them out until DM catches up).

Incremental batches (cost proportional to what arrived, not to the whole history): before the
validations, ``prepare_batches`` materializes, per domain, the current records that come from
deliveries after the raw gate's watermark, or from a delivery one of whose files was re-sent,
into ``quality_batch.<domain>`` (one sort per domain instead of one per expectation); the
suites' assets read those tables. The watermark is the
latest delivery covered by the last *passing* raw gate of the pipeline (``record_pass``, kept
in ``audit.raw_gate_watermarks`` with a fingerprint of the suites, so changed checks or
reference data mean a full re-check). A failing gate does not move it, so a blocked delivery
is checked again until it is corrected. Records of older deliveries that are still current
passed an earlier gate, except after a re-send: a re-sent file supersedes the older file
whole, so a record only the older file held falls back to an earlier delivery's version,
possibly one a gate blocked and a correction hid; a domain with a re-send since the last
pass is therefore checked whole (as dbt rebuilds staging in full after one). Flood thresholds therefore apply to the current records of the new
deliveries (a broken feed shows up in the delivery that broke it).
"""

from __future__ import annotations

import hashlib
import json

import psycopg
from psycopg import sql

from cfz_platform.contract.domains import (
    DOMAINS,
    FUTURE_ONLY,
    HISTORY,
    KEY_QUALIFIER_SUFFIXES,
    ON_STUDY,
    REGISTRY,
    compute_result_columns,
)
from cfz_platform.contract.domains import Domain as DomainContract
from cfz_platform.ingest.schema import read_raw_catalog
from cfz_platform.quality import reference as ref
from cfz_platform.quality.specs import (
    BLOCKING,
    WARNING,
    AssetSpec,
    Check,
    SuiteSpec,
    rows_check,
    sql_list,
)

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
#: Loaded files that a newer file of the same path and delivery supersedes (feeds.md).
SUPERSEDED_FILES = (
    "select o.file_id from audit.ingest_files o where o.status = 'loaded' and exists ("
    "select 1 from audit.ingest_files n where n.status = 'loaded' and n.delivery_id = o.delivery_id "
    "and n.rel_path = o.rel_path and n.file_id > o.file_id)"
)
#: Date columns whose implausible value is a warning, not a reason to stop the build: end
#: dates anchor no derivation's start; CM history may lie decades back.
WARNING_DATE_COLUMNS = tuple(x.name for d in REGISTRY for x in d.dates if not x.blocking)
LINEAGE = ("_delivery_id", "_file", "_line")
#: Required columns holding the result itself: a flood of empty results blocks the build.
RESULT_COLUMNS = compute_result_columns()
#: Schema of the materialized batches (current records of the deliveries to check).
BATCH_SCHEMA = "quality_batch"
WATERMARKS = "raw_gate_watermarks"  # in schema audit


def _nk(contract: DomainContract) -> list[str]:
    return [c.lower() for c in contract.natural_key]


def key_qualifiers(domain: str) -> tuple[str, ...]:
    """The qualifier columns that extend a domain's natural key (none for DM: one per subject)."""
    if domain == "dm":
        return ()
    nk = set(_nk(DOMAINS[domain]))
    return tuple(f"{domain}{s}" for s in KEY_QUALIFIER_SUFFIXES if f"{domain}{s}" not in nk)


def extended_key_sql(domain: str, alias: str = "r", present: set[str] | None = None) -> str:
    """md5 of a raw row's extended natural key.

    Steps: the business key (nulls kept distinct from empty strings), then each non-empty
    qualifier as ``|name=value`` (trimmed, upper-case, ``1.0`` read as ``1``). A qualifier
    column no file has carried yet counts as empty: with ``present`` (the raw table's
    columns, known when the query runs) such a column is left out and the others are read
    directly; without it (the suites' fingerprint, which must not depend on a warehouse)
    every qualifier is read through ``to_jsonb`` of the row. Both give the same key; the
    direct form spares a JSON document per row (the 1,000-subject LB batch: 19 s -> 3 s).
    """
    base = ", ".join(f"coalesce({alias}.{c}, '<null>')" for c in _nk(DOMAINS[domain]))

    def qualifier(q: str, source: str) -> str:
        return (
            f" || coalesce('|{q}=' || nullif(regexp_replace(upper(btrim({source})), "
            f"'^([0-9]+)\\.0+$', '\\1'), ''), '')"
        )

    if present is not None:
        quals = "".join(
            qualifier(q, f"{alias}.{q}") for q in key_qualifiers(domain) if q in present
        )
        return f"md5(concat_ws('|', {base}){quals})"
    quals = "".join(qualifier(q, f"j.rj ->> '{q}'") for q in key_qualifiers(domain))
    if not quals:
        return f"md5(concat_ws('|', {base}))"
    return f"(select md5(concat_ws('|', {base}){quals}) from (select to_jsonb({alias}) as rj) j)"


def superseded_files_sql(through_file_id: int | None = None) -> str:
    """Loaded files that a newer loaded file of the same path and delivery supersedes; with an
    upper watermark, only a re-send at or below it counts (a later one is not read yet)."""
    if through_file_id is None:
        return SUPERSEDED_FILES
    return SUPERSEDED_FILES[:-1] + f" and n.file_id <= {int(through_file_id)})"


def current_query(
    domain: str,
    where: str = "",
    through_file_id: int | None = None,
    present: set[str] | None = None,
) -> str:
    """The current records of ``raw.<domain>`` (see the module docstring), ranked in SQL.

    Steps: drop rows of superseded files; key each row (``_natural_key``); keep the rows of
    the newest delivery, then newest file, holding each key (ties: all of them), in business
    key order (samples of failures read in that order). ``where`` restricts the raw rows read
    first (a condition on alias ``r``); ``through_file_id`` is an upper raw watermark;
    ``present``: the raw table's columns (``extended_key_sql``).
    """
    cond = f"not exists (select 1 from ({superseded_files_sql(through_file_id)}) s where s.file_id = r._file_id)"
    if where:
        cond += f" and ({where})"
    key = _nk(DOMAINS[domain])
    return (
        # partitioned by the business key columns, then the key hash: the rows come out of the
        # window sorted by the business key, so the final order only sorts each key's rows by
        # line (an incremental sort instead of a second full sort that spilled to disk; the
        # 1,000-subject LB batch: 5-6.6 s -> 2.6-3.8 s). A partition can only be finer than
        # the hash's alone (never coarser), so every row staging holds current is current here.
        f"select * from (select k.*, rank() over (partition by {', '.join('k.' + c for c in key)}, "
        "k._natural_key order by k._delivery_id desc, k._file_id desc nulls last) as _version_rank "
        f"from (select r.*, {extended_key_sql(domain, present=present)} as _natural_key "
        f"from raw.{domain} r where {cond}) k) c "
        f"where c._version_rank = 1 order by {', '.join('c.' + col for col in key)}, c._line"
    )


def batch_query(domain: str) -> str:
    """The asset query of a domain's suite: its materialized batch (see ``prepare_batches``)."""
    return f"select * from {BATCH_SCHEMA}.{domain}"


def suites_fingerprint(suites: list[SuiteSpec] | None = None) -> str:
    """md5 of every raw-gate check (kind, arguments, severity) and the current-record rule."""
    payload = [
        [
            s.name,
            current_query(s.asset.name),
            [[c.key, c.expectation, c.kwargs, c.severity] for c in s.checks],
        ]
        for s in (suites if suites is not None else raw_gate_suites())
    ]
    return hashlib.md5(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _ensure_watermarks(cur: psycopg.Cursor) -> None:
    cur.execute(
        sql.SQL(
            "create table if not exists audit.{} (run_id text not null, covered_through text not null, "
            "fingerprint text not null, passed_at timestamptz not null default now(), through_file_id bigint)"
        ).format(sql.Identifier(WATERMARKS))
    )
    cur.execute(
        sql.SQL("alter table audit.{} add column if not exists through_file_id bigint").format(
            sql.Identifier(WATERMARKS)
        )
    )


#: No upper watermark: every loaded file (``cfz validate``).
ALL_FILES = 2**62


def resent_domains(cur: psycopg.Cursor, since_file: int, upper: int) -> set[str]:
    """Domains with a file re-sent since the last passing gate (file id above ``since_file``,
    at most ``upper``) that supersedes an earlier loaded file of the same path and delivery.

    Such a re-send can make older rows current again: a record that only the superseded file
    held falls back to an earlier delivery's version, which no recent file carries.
    """
    cur.execute(
        "select distinct n.domain from audit.ingest_files n where n.status = 'loaded' "
        "and n.file_id > %s and n.file_id <= %s and n.domain is not null and exists ("
        "select 1 from audit.ingest_files o where o.status = 'loaded' "
        "and o.delivery_id = n.delivery_id and o.rel_path = n.rel_path and o.file_id < n.file_id)",
        (since_file, upper),
    )
    return {r[0] for r in cur.fetchall()}


def prepare_batches(
    conn: psycopg.Connection,
    suites: list[SuiteSpec] | None = None,
    through_file_id: int | None = None,
) -> str | None:
    """Materialize each domain's batch; return the latest delivery it covers (None: nothing new).

    ``through_file_id`` is the build's upper watermark (fixed before this gate): rows of
    files loaded after it are left for the next gate, exactly as the build leaves them.

    Steps (one transaction):
    1. read the watermark: the latest delivery and the last file covered by a passing raw
       gate with the same suites fingerprint ('' and 0 when none: a full check);
    2. per contract domain, (re)create ``quality_batch.<domain>`` as the current records
       (``current_query``: superseded files dropped, newest delivery then newest file) among
       the rows of deliveries after the watermark or of files loaded after the last pass (a
       late or re-sent file of an older delivery, a file loaded while the last build ran), up
       to ``through_file_id``, and analyze it. A domain with a file re-sent since the last
       pass (``resent_domains``) is checked whole: every record current in the build, for a
       record the re-sent file no longer holds falls back to an older version (feeds.md: the
       gate checks every row that will be current in the build it gates, a value it blocked
       once included);
    3. return the latest delivery id found in the batches.
    """
    fingerprint = suites_fingerprint(suites)
    upper = ALL_FILES if through_file_id is None else through_file_id
    latest: str | None = None
    with conn.transaction(), conn.cursor() as cur:
        _ensure_watermarks(cur)
        cur.execute(
            sql.SQL(
                "select coalesce(max(covered_through), ''), coalesce(max(through_file_id), 0) "
                "from audit.{} where fingerprint = %s"
            ).format(sql.Identifier(WATERMARKS)),
            (fingerprint,),
        )
        since, since_file = cur.fetchone()
        resent = resent_domains(cur, since_file, upper)
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(BATCH_SCHEMA)))
        catalog = read_raw_catalog(cur)
        for domain in sorted(DOMAINS):
            table = sql.Identifier(BATCH_SCHEMA, domain)
            cur.execute(sql.SQL("drop table if exists {}").format(table))
            where = "r._file_id <= %(upper)s"
            if domain not in resent:
                where = f"(r._delivery_id > %(since)s or r._file_id > %(since_file)s) and {where}"
            query = current_query(
                domain,
                where=where,
                through_file_id=upper,
                present=catalog[domain].columns if domain in catalog else set(),
            )
            cur.execute(
                sql.SQL("create unlogged table {} as ").format(table) + sql.SQL(query),
                {"since": since, "since_file": since_file, "upper": upper},
            )
            cur.execute(sql.SQL("analyze {}").format(table))
            cur.execute(sql.SQL("select max(_delivery_id) from {}").format(table))
            top = cur.fetchone()[0]
            if top is not None and (latest is None or top > latest):
                latest = top
    return latest


def record_pass(
    conn: psycopg.Connection,
    run_id: str,
    covered_through: str | None,
    suites: list[SuiteSpec] | None = None,
    through_file_id: int | None = None,
) -> None:
    """Move the watermark after a passing raw gate (nothing to do when the batch was empty);
    ``through_file_id``: the upper watermark the gate checked up to (None: not bounded)."""
    if covered_through is None:
        return
    with conn.transaction(), conn.cursor() as cur:
        _ensure_watermarks(cur)
        cur.execute(
            sql.SQL(
                "insert into audit.{} (run_id, covered_through, fingerprint, through_file_id) "
                "values (%s, %s, %s, %s)"
            ).format(sql.Identifier(WATERMARKS)),
            (run_id, covered_through, suites_fingerprint(suites), through_file_id),
        )


def _required_checks(domain: str, contract: DomainContract) -> list[Check]:
    checks: list[Check] = []
    # natural-key columns that may be empty (CMSTDTC) are checked like any required column
    nk = {c.lower() for c in contract.key_checked}
    required = [c.lower() for c in contract.required if c not in contract.alternatives]
    checks.append(
        Check(
            "required_columns_present",
            "ExpectTableColumnsToMatchSet",
            {"column_set": required, "exact_match": False},
            BLOCKING,
            f"required columns {', '.join(c.upper() for c in required)} are present in raw.{domain}",
        )
    )
    for col in (c.lower() for c in contract.required):
        if col in contract.alternatives or col.upper() in contract.alternatives:
            alts = [a.lower() for a in contract.alternatives.get(col.upper(), ())]
            cond = " and ".join(f"b.{c} is null" for c in (col, *alts))
            checks.append(
                rows_check(
                    f"{col}_or_alternative_not_null",
                    f"select b.usubjid, {', '.join('b.' + c for c in LINEAGE)} "
                    f"from {{batch}} b where {cond}",
                    WARNING,
                    f"{col.upper()} (or {', '.join(a.upper() for a in alts)}) is filled in",
                )
            )
            continue
        if col in nk:
            checks.append(
                Check(
                    f"{col}_not_null",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col},
                    BLOCKING,
                    f"natural-key column {col.upper()} is never empty",
                )
            )
        elif col.upper() in contract.may_be_empty:
            checks.append(
                Check(
                    f"{col}_not_null",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col},
                    WARNING,
                    f"natural-key column {col.upper()} is filled in (real SDTM may leave it "
                    "empty: such records are told apart by their qualifiers, feeds.md)",
                )
            )
        elif col == "lborresu":
            checks.append(
                rows_check(
                    "lborresu_not_null_numeric",
                    _numeric_lab_without_unit_query(),
                    WARNING,
                    "numeric lab results carry a unit (text results such as immunofixation need none)",
                )
            )
        elif col not in RESULT_COLUMNS:
            checks.append(
                Check(
                    f"{col}_not_null",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col},
                    WARNING,
                    f"required column {col.upper()} is filled in (e.g. screen "
                    "failures have no RFSTDTC; staging decides)",
                )
            )
        else:
            checks.append(
                Check(
                    f"{col}_not_null",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col},
                    WARNING,
                    f"required column {col.upper()} is filled in",
                )
            )
            checks.append(
                Check(
                    f"{col}_not_null_flood",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col, "mostly": 1 - ref.FLOOD_THRESHOLD},
                    BLOCKING,
                    f"required column {col.upper()} is empty in at most "
                    f"{ref.FLOOD_THRESHOLD:.0%} of current records",
                )
            )
    return checks


def _numeric_lab_without_unit_query() -> str:
    text_tests = sorted({a[0] for a in ref.lab_aliases() if a[2] in ref.text_result_tests()})
    return (
        f"select b.usubjid, b.lbtestcd, b.lbspec, b.lbdtc, b.lborres, {', '.join('b.' + c for c in LINEAGE)} "
        f"from {{batch}} b where b.lborresu is null and b.lborres is not null "
        f"and upper(b.lbtestcd) not in ({sql_list(text_tests)})"
    )


def _in_set_checks(col: str, values: tuple[str, ...], what: str) -> list[Check]:
    return [
        Check(
            f"{col}_known",
            "ExpectColumnValuesToBeInSet",
            {"column": col, "value_set": list(values)},
            WARNING,
            f"every {what} is known to the platform (unknown ones are flagged in staging)",
        ),
        Check(
            f"{col}_known_flood",
            "ExpectColumnValuesToBeInSet",
            {"column": col, "value_set": list(values), "mostly": 1 - ref.FLOOD_THRESHOLD},
            BLOCKING,
            f"at most {ref.FLOOD_THRESHOLD:.0%} of {what}s are unknown (a flood means a broken feed)",
        ),
    ]


def _lab_range_query() -> str:
    """Rows whose numeric result, converted to the standard unit, is physically impossible."""
    aliases = ", ".join(f"({sql_list(a)})" for a in ref.lab_aliases())
    conv = ", ".join(f"({sql_list(c[:3])}, {c[3]!r}::numeric)" for c in ref.unit_conversions())
    lims = ", ".join(
        f"({sql_list((x.lbtestcd, x.lbspec))}, {x.low!r}::numeric, {x.high!r}::numeric)"
        for x in ref.lab_limits()
    )
    num = r"'^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'"
    return (
        f"with alias(source_code, source_spec, lbtestcd, lbspec) as (values {aliases}), "
        f"conv(lbtestcd, lbspec, unit, factor) as (values {conv}), "
        f"lim(lbtestcd, lbspec, low, high) as (values {lims}), "
        # only the columns the result shows: materializing every raw column (b.*) cost 35-45%
        # of this check (the 1,000-subject batch: 3.5-4.1 s -> 2.3 s)
        "mapped as materialized ("
        " select b.usubjid, b.lbtestcd, b.lbspec, b.lbdtc, b.lborres, b.lborresu,"
        " b._delivery_id, b._file, b._line,"
        " coalesce(a1.lbtestcd, a2.lbtestcd) as std_testcd, coalesce(a1.lbspec, a2.lbspec) as std_spec"
        " from {batch} b"
        " left join alias a1 on a1.source_code = upper(b.lbtestcd) and a1.source_spec = upper(coalesce(b.lbspec, ''))"
        " left join alias a2 on a2.source_code = upper(b.lbtestcd) and a2.source_spec = ''"
        f" where b.lborres ~ {num}) "
        "select m.usubjid, m.lbtestcd, m.lbspec, m.lbdtc, m.lborres, m.lborresu,"
        " round(m.lborres::numeric * c.factor, 4) as value_standard_unit, l.low, l.high,"
        " m._delivery_id, m._file, m._line"
        " from mapped m"
        " join conv c on c.lbtestcd = m.std_testcd and c.lbspec = m.std_spec and c.unit = coalesce(m.lborresu, '')"
        " join lim l on l.lbtestcd = m.std_testcd and l.lbspec = m.std_spec"
        " where m.lborres::numeric * c.factor not between l.low and l.high"
    )


def _rs_values_query(flood: bool) -> str:
    bad = (
        f"(b.rstestcd = 'OVRLRESP' and b.rsstresc not in ({sql_list(ref.RESPONSE_CATEGORIES)}))"
        f" or (b.rstestcd = 'ECOG' and b.rsstresc not in ({sql_list(ref.ECOG_VALUES)}))"
        f" or (b.rstestcd = 'SKELSURV' and b.rsstresc not in ({sql_list(ref.SKELETAL_SURVEY_VALUES)}))"
    )
    if not flood:
        return (
            f"select b.usubjid, b.rstestcd, b.rsdtc, b.rsstresc, {', '.join('b.' + c for c in LINEAGE)} "
            f"from {{batch}} b where b.rsstresc is not null and ({bad})"
        )
    return (
        f"select count(*) filter (where b.rsstresc is not null and ({bad})) as n_unknown, count(*) as n_rows "
        f"from {{batch}} b having count(*) filter (where b.rsstresc is not null and ({bad}))"
        f" > {ref.FLOOD_THRESHOLD} * count(*)"
    )


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


def _duplicate_check(domain: str, contract: DomainContract) -> Check:
    """Current records identical in their extended natural key within the file that holds them.

    Steps: group the batch (only the newest file holding each key, so a re-sent file never
    ties with the one it supersedes) by extended key and file; keep groups of two or more
    rows; list their lines. Real SDTM repeats keys (feeds.md): a warning that lists them; staging keeps each
    row. DM is one record per subject: two DM rows of a subject in one file conflict, and
    staging could keep only one, so there it blocks.
    """
    nk = _nk(contract)
    quals = key_qualifiers(domain)
    # the groups of two or more rows are found first (a hash aggregate), and only their rows
    # are sorted for the line list (the 1,000-subject LB batch: 1.3 s -> 0.9-1.0 s)
    query = (
        f"select {', '.join('min(b.' + c + ') as ' + c for c in nk)}, min(b._delivery_id) as _delivery_id, "
        "count(*) as n_rows, string_agg(b._file || ':' || b._line, ', ' order by b._line) as lines "
        "from {batch} b where (b._natural_key, b._delivery_id, b._file_id) in "
        "(select d._natural_key, d._delivery_id, d._file_id from {batch} d group by 1, 2, 3 having count(*) > 1) "
        "group by b._natural_key, b._delivery_id, b._file_id"
    )
    if domain == "dm":
        return rows_check(
            "natural_key_unique_in_delivery",
            query,
            BLOCKING,
            "no subject (USUBJID) twice in the DM file that supplies its record",
        )
    key = ", ".join(c.upper() for c in (*nk, *quals))
    return rows_check(
        "natural_key_unique_in_delivery",
        query,
        WARNING,
        f"no two rows identical in their extended natural key ({key}, the qualifiers "
        "present) in one file; such rows are kept, each one",
    )


def _orphan_check(domain: str) -> Check:
    query = (
        f"select b.usubjid, {', '.join('b.' + c for c in LINEAGE)} from {{batch}} b "
        f"where b.usubjid is not null and not exists "
        f"(select 1 from raw.dm m where m.usubjid = b.usubjid)"
    )
    return rows_check(
        "subject_known_to_dm",
        query,
        WARNING,
        "every subject is named in DM (orphans wait in staging until DM catches up)",
    )


def domain_suite(domain: str) -> SuiteSpec:
    """The raw-gate suite of one contract domain."""
    contract = DOMAINS[domain]
    checks = _required_checks(domain, contract)
    if domain == "lb":
        checks += _in_set_checks("lbtestcd", ref.known_test_codes(), "lab test code")
        checks += _in_set_checks("lborresu", ref.known_units(), "lab unit")
        checks += _in_set_checks("lbspec", ref.SPECIMENS, "specimen")
        checks.append(
            rows_check(
                "lab_value_physically_possible",
                _lab_range_query(),
                BLOCKING,
                "numeric lab results are physically possible for the test, in its standard unit",
            )
        )
    if domain == "rs":
        checks.append(
            rows_check(
                "rs_values_known",
                _rs_values_query(flood=False),
                WARNING,
                "response, ECOG and skeletal-survey results use the controlled values",
            )
        )
        checks.append(
            rows_check(
                "rs_values_known_flood",
                _rs_values_query(flood=True),
                BLOCKING,
                f"at most {ref.FLOOD_THRESHOLD:.0%} of RS results are outside the controlled values",
            )
        )
    for col in DATE_COLUMNS.get(domain, ()):
        checks.append(_date_check(domain, col, floor=True))
    for col in FUTURE_ONLY_DATE_COLUMNS.get(domain, ()):
        checks.append(_date_check(domain, col, floor=False))
    checks.append(_duplicate_check(domain, contract))
    if domain != "dm":
        checks.append(_orphan_check(domain))
    key_columns = tuple(dict.fromkeys([*_nk(contract), *LINEAGE]))
    asset = AssetSpec(
        name=domain, query=batch_query(domain), table=f"raw.{domain}", key_columns=key_columns
    )
    return SuiteSpec(gate="raw", asset=asset, checks=tuple(checks))


def raw_gate_suites() -> list[SuiteSpec]:
    """One suite per contract domain, in a stable order."""
    return [domain_suite(d) for d in sorted(DOMAINS)]

"""The mart gate: invariants BI users rely on, checked on a build before it is published.

Mart queries are unqualified (``from dim_subject``): the GX datasource of the mart gate sets
PostgreSQL's ``search_path`` to the schema under validation (``marts_candidate`` inside
``cfz transform``, ``marts`` for ``cfz validate``), so one suite validates either.

Checks (all blocking unless marked):
1. one row per subject in ``dim_subject`` and ``fct_best_response``;
2. best response from the IMWG categories; ``cnsr`` in (0, 1), ``aval >= 0``, known
   ``paramcd`` and one row per subject and parameter in ``fct_time_to_event``;
3. ORR between 0 and 1 and equal to the counts it is made of (``rpt_study_endpoints``), and
   its denominator equal to the response-evaluable subjects in ``fct_best_response``;
4. RDI within (0, 1.5] in ``fct_cycles``; every treated subject has cycles;
5. exactly the 7 criteria E1-E7 per subject in ``fct_eligibility``;
6. no subject in an efficacy endpoint who is not response-evaluable: the ORR and
   Kaplan-Meier rows of ``rpt_study_endpoints`` count exactly the response-evaluable subjects
   (``dim_subject.respevalfl``) of ``fct_best_response`` / ``fct_time_to_event``. Those two
   marts hold a row for EVERY treated subject (waivers included, so listings show them); the
   endpoint writer (``cfz_platform.stats.endpoints``) filters on the flag, and this check
   proves it did;
7. every endpoint row of ``rpt_study_endpoints`` names the population it counts
   (``analysis_population``: response-evaluable, DLT-evaluable);
8. (warning) subjects whose DM.ARMCD disagrees with the derived group (domain.md 1);
   (warning) subjects who discontinued for an adverse event (``fct_disposition.dctreas``
   ADVERSE EVENT) without an AE recording it (AEACN DRUG WITHDRAWN, started on or before
   ``eotdt``) in ``fct_adverse_events``: real feeds can disagree, so it never blocks;
9. the ADaM datasets built beside the marts (``adam_candidate`` beside ``marts_candidate``,
   on the gate's search path): ADSL has one row per subject of ``dim_subject`` with the same
   TRTSDT; keys unique in ADAE (USUBJID, AESEQ, AESPID), ADEX (USUBJID, PARAMCD, SRCKEY),
   ADRS (USUBJID, PARAMCD, ASEQ) and ADTTE (USUBJID, PARAMCD); when the study has response
   data (``fct_response_assessments`` not empty) ADTTE equals ``fct_time_to_event`` row for
   row and ADRS CBOR equals ``fct_best_response``, and without it both are empty. ADLB's key
   is ``fct_lab_results.lab_record_key`` (unique index), selected one to one.
"""

from __future__ import annotations

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

#: The responder flag behind each ORR endpoint row of ``rpt_study_endpoints``.
ORR_FLAGS = {"ORR_PROTOCOL": "is_clinical_benefit", "ORR_CONVENTIONAL": "is_responder"}
#: ADaM tables the mart gate reads from the ADaM schema of the build (config.adam_schema_for).
ADAM_TABLES = ("adsl", "adae", "adex", "adrs", "adtte")
#: "The study has response data": the condition under which ADRS/ADTTE must mirror the marts.
HAS_RESPONSE_DATA = "exists (select 1 from fct_response_assessments)"
#: The DS reason of a discontinuation for an AE, and the AE action that records it (AEACN).
AE_DISCONTINUATION = "ADVERSE EVENT"
AE_WITHDRAWN = "DRUG WITHDRAWN"
#: Tolerance when comparing a stored proportion with the counts it comes from.
ORR_TOLERANCE = 1e-9


def _asset(table: str, keys: tuple[str, ...] = ("usubjid",)) -> AssetSpec:
    return AssetSpec(name=table, query=f"select * from {table}", table=table, key_columns=keys)


def _unique_subject(table: str) -> list[Check]:
    return [
        Check(
            "usubjid_not_null",
            "ExpectColumnValuesToNotBeNull",
            {"column": "usubjid"},
            BLOCKING,
            f"every row of {table} names its subject",
        ),
        Check(
            "usubjid_unique",
            "ExpectColumnValuesToBeUnique",
            {"column": "usubjid"},
            BLOCKING,
            f"one row per subject in {table}",
        ),
    ]


def _rows(key: str, query: str, severity: str, description: str) -> Check:
    return rows_check(key, query, severity, description)


def dim_subject_suite() -> SuiteSpec:
    checks = [
        *_unique_subject("dim_subject"),
        # cycles are cycles of the study drug: a study whose EX never names it (e.g. the
        # CDISC pilot) has none at all, and its treated subjects are not missing any
        _rows(
            "treated_subject_has_cycles",
            "select d.usubjid, d.first_dose_date from {batch} d where d.first_dose_date is not null "
            "and not exists (select 1 from fct_cycles c where c.usubjid = d.usubjid) "
            "and exists (select 1 from fct_cycles)",
            BLOCKING,
            "every treated subject (first dose date known) has at least one cycle in fct_cycles "
            "(in a study with study-drug cycles at all)",
        ),
        _rows(
            "group_matches_armcd",
            'select d.usubjid, d."group", d.imid_regimen from {batch} d where d.group_mismatch',
            WARNING,
            "DM.ARMCD agrees with the group derived from the prior regimen (domain.md 1)",
        ),
        _rows(
            "ae_discontinuation_has_its_ae",
            "select d.usubjid, f.eot_source, f.eotdt from {batch} d "
            "join fct_disposition f on f.usubjid = d.usubjid "
            f"where upper(f.dctreas) = '{AE_DISCONTINUATION}' and not exists ("
            "select 1 from fct_adverse_events a where a.usubjid = f.usubjid "
            f"and upper(btrim(a.aeacn)) = '{AE_WITHDRAWN}' "
            "and (f.eotdt is null or a.aestdt <= f.eotdt))",
            WARNING,
            "a subject who discontinued for an adverse event (DS DSDECOD ADVERSE EVENT) has the "
            "AE that caused it: AEACN DRUG WITHDRAWN, starting on or before the DS date",
        ),
    ]
    return SuiteSpec("mart", _asset("dim_subject"), tuple(checks))


def fct_best_response_suite() -> SuiteSpec:
    checks = [
        *_unique_subject("fct_best_response"),
        Check(
            "best_response_allowed",
            "ExpectColumnValuesToBeInSet",
            {"column": "best_response", "value_set": list(ref.RESPONSE_CATEGORIES)},
            BLOCKING,
            "best response is an IMWG category (sCR, CR, VGPR, PR, MR, SD, PD, NE)",
        ),
    ]
    return SuiteSpec("mart", _asset("fct_best_response"), tuple(checks))


def fct_time_to_event_suite() -> SuiteSpec:
    checks = [
        Check(
            "cnsr_is_0_or_1",
            "ExpectColumnValuesToBeInSet",
            {"column": "cnsr", "value_set": [0, 1]},
            BLOCKING,
            "CNSR is 0 (event) or 1 (censored)",
        ),
        Check(
            "cnsr_not_null",
            "ExpectColumnValuesToNotBeNull",
            {"column": "cnsr"},
            BLOCKING,
            "CNSR is always given",
        ),
        Check(
            "aval_not_negative",
            "ExpectColumnValuesToBeBetween",
            {"column": "aval", "min_value": 0},
            BLOCKING,
            "AVAL (days) is >= 0",
        ),
        Check(
            "paramcd_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "paramcd", "value_set": list(ref.TTE_PARAMS)},
            BLOCKING,
            "PARAMCD is one of " + ", ".join(ref.TTE_PARAMS),
        ),
        Check(
            "one_row_per_subject_and_param",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["usubjid", "paramcd"]},
            BLOCKING,
            "one row per subject and parameter",
        ),
    ]
    return SuiteSpec("mart", _asset("fct_time_to_event", ("usubjid", "paramcd")), tuple(checks))


def fct_cycles_suite() -> SuiteSpec:
    checks = [
        Check(
            "rdi_within_0_and_1_5",
            "ExpectColumnValuesToBeBetween",
            {"column": "relative_dose_intensity", "min_value": 0, "max_value": ref.RDI_MAX},
            BLOCKING,
            f"relative dose intensity is within [0, {ref.RDI_MAX}] (0: every dose of the cycle held)",
        ),
    ]
    return SuiteSpec("mart", _asset("fct_cycles", ("usubjid", "cycle")), tuple(checks))


def fct_eligibility_suite() -> SuiteSpec:
    checks = [
        Check(
            "criterion_id_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "criterion_id", "value_set": list(ref.CRITERIA)},
            BLOCKING,
            "criteria are E1-E7",
        ),
        Check(
            "status_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "status", "value_set": list(ref.ELIGIBILITY_STATUSES)},
            BLOCKING,
            "status is met, not_met or not_evaluable",
        ),
        _rows(
            "seven_criteria_per_subject",
            "select e.usubjid, count(*) as n_rows, count(distinct e.criterion_id) as n_criteria "
            "from {batch} e group by e.usubjid "
            f"having count(*) <> {len(ref.CRITERIA)} or count(distinct e.criterion_id) <> {len(ref.CRITERIA)}",
            BLOCKING,
            f"exactly {len(ref.CRITERIA)} criteria (E1-E7) per subject",
        ),
        _rows(
            "every_subject_assessed",
            "select d.usubjid from dim_subject d where not exists "
            "(select 1 from {batch} e where e.usubjid = d.usubjid)",
            BLOCKING,
            "every subject in dim_subject has an eligibility assessment",
        ),
    ]
    return SuiteSpec("mart", _asset("fct_eligibility", ("usubjid", "criterion_id")), tuple(checks))


def rpt_study_endpoints_suite() -> SuiteSpec:
    orr = sql_list(list(ORR_FLAGS))
    flag_case = " ".join(f"when '{k}' then b.{v}" for k, v in ORR_FLAGS.items())
    checks = [
        _rows(
            "orr_between_0_and_1",
            "select r.endpoint, r.population, r.estimate, r.ci_lower, r.ci_upper from {batch} r "
            f"where r.endpoint in ({orr}) and (r.estimate < 0 or r.estimate > 1 "
            "or r.ci_lower > r.estimate or r.ci_upper < r.estimate or r.ci_lower < 0 or r.ci_upper > 1)",
            BLOCKING,
            "ORR and its confidence limits lie within [0, 1], lower <= estimate <= upper",
        ),
        _rows(
            "orr_consistent_with_counts",
            "select r.endpoint, r.population, r.n_subjects, r.n_count, r.estimate from {batch} r "
            f"where r.endpoint in ({orr}) and (r.n_count > r.n_subjects or "
            f"(r.n_subjects > 0 and abs(r.estimate - r.n_count::float8 / r.n_subjects) > {ORR_TOLERANCE}) "
            "or (r.n_subjects = 0 and r.estimate is not null))",
            BLOCKING,
            "ORR equals responders / subjects of the same row",
        ),
        _rows(
            "orr_counts_match_best_response",
            "with truth as (select e.endpoint, count(*) as n_subjects, "
            f"count(*) filter (where case e.endpoint {flag_case} end) as n_count "
            "from fct_best_response b join dim_subject d using (usubjid) "
            f"cross join (values {', '.join(f'({k!r})' for k in ORR_FLAGS)}) as e(endpoint) "
            "where coalesce(d.respevalfl, false) group by e.endpoint) "
            "select r.endpoint, r.n_subjects, t.n_subjects as expected_subjects, "
            "r.n_count, t.n_count as expected_count from {batch} r "
            "left join truth t on t.endpoint = r.endpoint "
            f"where r.endpoint in ({orr}) and r.population = 'OVERALL' "
            "and (r.n_subjects is distinct from coalesce(t.n_subjects, 0) "
            "or r.n_count is distinct from coalesce(t.n_count, 0))",
            BLOCKING,
            "overall ORR counts equal the response-evaluable subjects and responders in fct_best_response",
        ),
        _rows(
            "km_endpoints_only_response_evaluable",
            "with truth as (select 'MEDIAN_' || t.paramcd as endpoint, count(*) as n_subjects "
            "from fct_time_to_event t join dim_subject d using (usubjid) "
            "where coalesce(d.respevalfl, false) group by t.paramcd) "
            "select r.endpoint, r.n_subjects, coalesce(t.n_subjects, 0) as response_evaluable_subjects "
            "from {batch} r left join truth t on t.endpoint = r.endpoint "
            "where r.endpoint like 'MEDIAN\\_%' and r.population = 'OVERALL' "
            "and r.n_subjects is distinct from coalesce(t.n_subjects, 0)",
            BLOCKING,
            "time-to-event endpoints count exactly the response-evaluable subjects "
            "(no subject in an efficacy endpoint who is not response-evaluable)",
        ),
        _rows(
            "endpoints_name_their_population",
            "select r.endpoint, r.population from {batch} r where r.analysis_population is null",
            BLOCKING,
            "every endpoint row names the population it counts (analysis_population, domain.md 4)",
        ),
    ]
    return SuiteSpec(
        "mart", _asset("rpt_study_endpoints", ("endpoint", "population")), tuple(checks)
    )


def _duplicate_keys(table: str, keys: tuple[str, ...]) -> Check:
    cols = ", ".join(f"k.{k}" for k in keys)
    return _rows(
        "keys_unique",
        f"select {cols}, count(*) as n_rows from {{batch}} k group by {cols} having count(*) > 1",
        BLOCKING,
        f"one row per {', '.join(k.upper() for k in keys)} in {table.upper()}",
    )


def adsl_suite() -> SuiteSpec:
    checks = [
        *_unique_subject("adsl"),
        _rows(
            "one_row_per_dim_subject",
            "select coalesce(d.usubjid, a.usubjid) as usubjid, d.first_dose_date, a.trtsdt "
            "from dim_subject d full join {batch} a on a.usubjid = d.usubjid "
            "where a.usubjid is null or d.usubjid is null or a.trtsdt is distinct from d.first_dose_date",
            BLOCKING,
            "ADSL has exactly the subjects of dim_subject, with TRTSDT = first_dose_date",
        ),
    ]
    return SuiteSpec("mart", _asset("adsl"), tuple(checks))


def adae_suite() -> SuiteSpec:
    keys = ("usubjid", "aeseq", "aespid")
    return SuiteSpec("mart", _asset("adae", keys), (_duplicate_keys("adae", keys),))


def adex_suite() -> SuiteSpec:
    keys = ("usubjid", "paramcd", "srckey")
    return SuiteSpec("mart", _asset("adex", keys), (_duplicate_keys("adex", keys),))


def adrs_suite() -> SuiteSpec:
    keys = ("usubjid", "paramcd", "aseq")
    checks = [
        _duplicate_keys("adrs", keys),
        _rows(
            "cbor_equals_fct_best_response",
            "select coalesce(b.usubjid, a.usubjid) as usubjid, b.best_response, a.avalc as adrs_cbor, "
            "b.best_response_date, a.adt as adrs_adt "
            "from fct_best_response b full join {batch} a on a.usubjid = b.usubjid and a.paramcd = 'CBOR' "
            f"where {HAS_RESPONSE_DATA} and (a.paramcd is null or a.paramcd = 'CBOR') "
            "and (a.usubjid is null or b.usubjid is null or a.avalc is distinct from b.best_response "
            "or a.adt is distinct from b.best_response_date)",
            BLOCKING,
            "ADRS CBOR equals fct_best_response (subject, category, date) when the study has response data",
        ),
        _rows(
            "empty_without_response_data",
            f"select a.usubjid, a.paramcd from {{batch}} a where not {HAS_RESPONSE_DATA}",
            BLOCKING,
            "ADRS is empty when the study has no response assessment",
        ),
    ]
    return SuiteSpec("mart", _asset("adrs", ("usubjid", "paramcd")), tuple(checks))


def adtte_suite() -> SuiteSpec:
    keys = ("usubjid", "paramcd")
    checks = [
        _duplicate_keys("adtte", keys),
        _rows(
            "equals_fct_time_to_event",
            "select coalesce(t.usubjid, a.usubjid) as usubjid, coalesce(t.paramcd, a.paramcd) as paramcd, "
            "t.adt, a.adt as adtte_adt, t.aval, a.aval as adtte_aval, t.cnsr, a.cnsr as adtte_cnsr "
            "from fct_time_to_event t full join {batch} a on a.usubjid = t.usubjid and a.paramcd = t.paramcd "
            f"where {HAS_RESPONSE_DATA} and (a.usubjid is null or t.usubjid is null "
            "or a.startdt is distinct from t.startdt or a.adt is distinct from t.adt "
            "or a.aval is distinct from t.aval or (a.cnsr = 0) is distinct from (t.cnsr = 0))",
            BLOCKING,
            "ADTTE equals fct_time_to_event (STARTDT, ADT, AVAL per subject and parameter; CNSR 0 on "
            "the same records: ADTTE codes each censoring reason 1+) when the study has response data",
        ),
        _rows(
            "empty_without_response_data",
            f"select a.usubjid, a.paramcd from {{batch}} a where not {HAS_RESPONSE_DATA}",
            BLOCKING,
            "ADTTE is empty when the study has no response assessment",
        ),
    ]
    return SuiteSpec("mart", _asset("adtte", keys), tuple(checks))


def mart_gate_suites() -> list[SuiteSpec]:
    """The mart gate's suites, in a stable order."""
    return [
        dim_subject_suite(),
        fct_best_response_suite(),
        fct_cycles_suite(),
        fct_eligibility_suite(),
        fct_time_to_event_suite(),
        rpt_study_endpoints_suite(),
        adsl_suite(),
        adae_suite(),
        adex_suite(),
        adrs_suite(),
        adtte_suite(),
    ]

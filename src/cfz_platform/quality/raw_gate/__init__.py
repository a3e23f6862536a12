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

Modules, one job each: ``current`` (the current-version rule, the extended-key hash, the batch
table the suites read), ``required_rules`` (1), ``result_rules`` (2, 3), ``date_rules`` (4),
``key_rules`` (5, 6), ``suites`` (one suite per domain from those rules, and their
fingerprint), ``batches`` (the incremental batches and the watermark). Running a suite is
``quality.runner``'s job.
"""

from cfz_platform.quality.raw_gate.batches import (
    ALL_FILES,
    WATERMARKS,
    prepare_batches,
    record_pass,
    resent_domains,
)
from cfz_platform.quality.raw_gate.current import (
    BATCH_SCHEMA,
    LINEAGE,
    SUPERSEDED_FILES,
    batch_query,
    current_query,
    extended_key_sql,
    key_qualifiers,
    natural_key_columns,
    superseded_files_sql,
)
from cfz_platform.quality.raw_gate.date_rules import (
    DATE_COLUMNS,
    DELIVERY_DAY,
    FUTURE_ONLY_DATE_COLUMNS,
    STUDY_BOUND_DATE_COLUMNS,
    WARNING_DATE_COLUMNS,
    study_floor_sql,
)
from cfz_platform.quality.raw_gate.required_rules import RESULT_COLUMNS
from cfz_platform.quality.raw_gate.suites import domain_suite, raw_gate_suites, suites_fingerprint

__all__ = [
    "ALL_FILES",
    "BATCH_SCHEMA",
    "DATE_COLUMNS",
    "DELIVERY_DAY",
    "FUTURE_ONLY_DATE_COLUMNS",
    "LINEAGE",
    "RESULT_COLUMNS",
    "STUDY_BOUND_DATE_COLUMNS",
    "SUPERSEDED_FILES",
    "WARNING_DATE_COLUMNS",
    "WATERMARKS",
    "batch_query",
    "current_query",
    "domain_suite",
    "extended_key_sql",
    "key_qualifiers",
    "natural_key_columns",
    "prepare_batches",
    "raw_gate_suites",
    "record_pass",
    "resent_domains",
    "study_floor_sql",
    "suites_fingerprint",
    "superseded_files_sql",
]

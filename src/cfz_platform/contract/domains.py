"""The SDTM domain registry: each contract domain of ../shared/feeds.md declared once.

Every layer that needs to know a domain reads it from here: the ingest contract (required
columns, which natural-key columns reject an empty row), the raw gate and its GX suite (date
columns and their plausibility class, result columns), dbt staging (the natural key as SQL
expressions, generated into ``dbt/macros/sdtm_domains.sql`` by ``dbt_macros``),
``audit.data_issues`` (its domain list, from the same macro file) and the simulator's writers
(the column order of each feed).

Adding a domain (docs/architecture.md "Adding a domain"):
1. add one ``Domain`` entry to ``REGISTRY``;
2. run ``uv run python -m cfz_platform.contract.dbt_macros`` (rewrites the macro files);
3. write its staging model ``stg_sdtm__<domain>`` (calling ``sdtm_key_cols``) and its marts;
4. run ``cfz validate`` to regenerate the GX suites and commit them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Date plausibility classes (feeds.md): an on-study date is not long before the study's first
#: RFSTDTC; a history date only not before the sanity floor; a future-only date (a birth date)
#: only not after its delivery.
ON_STUDY = "on_study"
HISTORY = "history"
FUTURE_ONLY = "future_only"
#: SDTM qualifiers that extend a natural key (feeds.md), in that order, as <domain><suffix>.
KEY_QUALIFIER_SUFFIXES = ("tptnum", "tpt", "pos", "loc", "spec", "seq")
#: How a natural-key column is normalized in staging: trimmed; trimmed and upper-case; an
#: empty optional column counted as '' (so it never makes the key null).
KEY_NORMALIZATIONS = ("trim", "upper", "trim_or_empty", "upper_or_empty")


@dataclass(frozen=True)
class DateColumn:
    """A date column and its plausibility class; ``blocking``: an implausible value stops the
    build (an end date, or CM history, only warns)."""

    name: str
    plausibility: str = ON_STUDY
    blocking: bool = True


@dataclass(frozen=True)
class Domain:
    """One contract domain: natural key, columns, dates, results and on-study rule."""

    name: str
    label: str
    natural_key: tuple[str, ...]
    required: tuple[str, ...]
    also_used: tuple[str, ...] = ()
    #: required column -> columns accepted in its place (SDTM permits either).
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: natural-key column -> its staging normalization (default: "trim").
    key_normalization: dict[str, str] = field(default_factory=dict)
    #: natural-key columns real SDTM may leave empty (feeds.md): an empty one never rejects a
    #: row; the record is told apart by its qualifiers (--SEQ, --SPID).
    may_be_empty: tuple[str, ...] = ()
    #: qualifiers left out of the extended key (LBSPEC is already in the LB business key).
    exclude_qualifiers: tuple[str, ...] = ()
    dates: tuple[DateColumn, ...] = ()
    #: required columns holding the result itself (a flood of empty ones blocks the build).
    results: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    #: staging columns that name a record in ``audit.data_issues`` (default: the natural key).
    issue_key: tuple[str, ...] = ()
    #: what makes a record of this domain on-study (domain.md), for the reader.
    on_study: str = ""
    #: the simulator's feed columns, in file order (required + also used + SDTM extras).
    feed_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns feeds.md names for the domain, lower-case, in a stable order."""
        seen: dict[str, None] = {"studyid": None, "domain": None}
        for col in (*self.required, *self.natural_key, *self.also_used):
            seen.setdefault(col.lower(), None)
        for alts in self.alternatives.values():
            for col in alts:
                seen.setdefault(col.lower(), None)
        return tuple(seen)

    @property
    def key_checked(self) -> tuple[str, ...]:
        """Natural-key columns that must not be empty: required ones that real SDTM always fills.

        RSLNKGRP (RS) and LBSPEC (LB) are part of the key but optional, and are empty on many
        valid records; CMSTDTC and MHSTDTC may be empty (``may_be_empty``).
        """
        return tuple(
            c for c in self.natural_key if c in self.required and c not in self.may_be_empty
        )

    def key_sql(self, alias: str | None = None) -> list[str]:
        """The natural key as staging SQL expressions over the raw columns (``sdtm_key_cols``;
        the raw gate qualifies them with its ``alias``)."""
        out = []
        for col in self.natural_key:
            c = f"{alias}.{col.lower()}" if alias else col.lower()
            norm = self.key_normalization.get(col, "trim")
            out.append(
                {
                    "trim": f"btrim({c})",
                    "upper": f"upper(btrim({c}))",
                    "trim_or_empty": f"coalesce(btrim({c}), '')",
                    "upper_or_empty": f"upper(coalesce(btrim({c}), ''))",
                }[norm]
            )
        return out

    def issue_key_sql(self) -> str:
        """The natural key of a staged row as one text, for ``audit.data_issues``."""
        cols = [c.lower() for c in (self.issue_key or self.natural_key)]
        if len(cols) == 1:
            return cols[0]
        return f"concat_ws('|', {', '.join(cols)})"

    def date_columns(self, plausibility: str | None = None) -> tuple[str, ...]:
        """Date columns (lower-case), optionally only those of one plausibility class."""
        return tuple(
            d.name for d in self.dates if plausibility is None or d.plausibility == plausibility
        )


REGISTRY: tuple[Domain, ...] = (
    Domain(
        "dm",
        "Demographics",
        ("USUBJID",),
        ("USUBJID", "SITEID", "ARMCD", "RFSTDTC"),
        ("ARM", "AGE", "SEX", "RACE", "BRTHDTC", "DTHDTC", "DTHFL", "DOSELVL", "COHORT"),
        dates=(
            DateColumn("rfstdtc", HISTORY),
            DateColumn("dthdtc", HISTORY),
            DateColumn("brthdtc", FUTURE_ONLY),
        ),
        on_study="one record per subject",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "SUBJID",
            "SITEID",
            "RFICDTC",
            "RFSTDTC",
            "ARMCD",
            "ARM",
            "AGE",
            "AGEU",
            "SEX",
            "RACE",
            "BRTHDTC",
            "DTHDTC",
            "DTHFL",
            "DOSELVL",
            "COHORT",
        ),
    ),
    Domain(
        "lb",
        "Laboratory results",
        ("USUBJID", "LBTESTCD", "LBSPEC", "LBDTC"),
        ("USUBJID", "LBTESTCD", "LBORRES", "LBORRESU", "LBDTC"),
        (
            "LBTEST",
            "LBSPEC",
            "LBORNRLO",
            "LBORNRHI",
            "LBSTRESN",
            "LBSTRESU",
            "LBSTNRLO",
            "LBSTNRHI",
            "LBSTAT",
            "LBREFID",
            "VISIT",
            "LBCAT",
        ),
        key_normalization={"LBTESTCD": "upper", "LBSPEC": "upper_or_empty"},
        exclude_qualifiers=("lbspec",),
        dates=(DateColumn("lbdtc", ON_STUDY),),
        results=("lborres",),
        units=("lborresu",),
        issue_key=("usubjid", "lbtestcd_source", "lbspec_source", "lbdtc"),
        on_study="collected from the study's first RFSTDTC (minus a window) on",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "LBREFID",
            "LBTESTCD",
            "LBTEST",
            "LBCAT",
            "LBSPEC",
            "LBORRES",
            "LBORRESU",
            "LBORNRLO",
            "LBORNRHI",
            "LBSTRESN",
            "LBSTRESU",
            "LBSTNRLO",
            "LBSTNRHI",
            "LBSTAT",
            "VISIT",
            "LBDTC",
        ),
    ),
    Domain(
        "ex",
        "Exposure",
        ("USUBJID", "EXTRT", "EXSTDTC"),
        ("USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC"),
        ("EXENDTC", "EXROUTE", "EXDOSFRQ", "VISIT", "EPOCH", "EXADJ"),
        key_normalization={"EXTRT": "upper"},
        dates=(DateColumn("exstdtc", ON_STUDY), DateColumn("exendtc", ON_STUDY, blocking=False)),
        results=("exdose",),
        units=("exdosu",),
        on_study="every dose given",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "EXTRT",
            "EXDOSE",
            "EXDOSU",
            "EXDOSFRQ",
            "EXROUTE",
            "EXSTDTC",
            "EXENDTC",
            "VISIT",
            "EPOCH",
            "EXADJ",
        ),
    ),
    Domain(
        "cm",
        "Concomitant and prior medications",
        ("USUBJID", "CMTRT", "CMSTDTC"),
        ("USUBJID", "CMTRT", "CMSTDTC"),
        ("CMCAT", "CMGRPID", "CMDOSE", "CMDOSU", "CMENDTC"),
        key_normalization={"CMTRT": "upper"},
        may_be_empty=("CMSTDTC",),
        dates=(
            DateColumn("cmstdtc", HISTORY, blocking=False),
            DateColumn("cmendtc", HISTORY, blocking=False),
        ),
        units=("cmdosu",),
        on_study=(
            "not prior myeloma therapy, starting between the first dose and 30 days after the "
            "last, or starting before the first dose and not ended by it (domain.md 5)"
        ),
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "CMTRT",
            "CMCAT",
            "CMGRPID",
            "CMDOSE",
            "CMDOSU",
            "CMSTDTC",
            "CMENDTC",
        ),
    ),
    Domain(
        "ae",
        "Adverse events",
        ("USUBJID", "AESPID"),
        ("USUBJID", "AESPID", "AETERM", "AESTDTC", "AETOXGR"),
        ("AEDECOD", "AEBODSYS", "AESER", "AEREL", "AEENDTC", "AEOUT", "AEACN", "AEDLT"),
        # SDTM AE carries severity (AESEV) or a toxicity grade (AETOXGR): the public CDISC
        # pilot has only AESEV, and must load (conformance/README.md).
        alternatives={"AETOXGR": ("AESEV",)},
        dates=(DateColumn("aestdtc", HISTORY), DateColumn("aeendtc", HISTORY, blocking=False)),
        results=("aeterm",),
        on_study="onset from the first dose to 30 days after the last (treatment-emergent)",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "AESPID",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "AETOXGR",
            "AESER",
            "AEREL",
            "AEACN",
            "AEOUT",
            "AEDLT",
            "AESTDTC",
            "AEENDTC",
        ),
    ),
    Domain(
        "rs",
        "Disease response, ECOG and skeletal survey",
        ("USUBJID", "RSTESTCD", "RSDTC", "RSLNKGRP"),
        ("USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"),
        ("RSEVAL", "EPOCH", "RSLNKGRP", "VISIT"),
        key_normalization={"RSTESTCD": "upper", "RSLNKGRP": "trim_or_empty"},
        dates=(DateColumn("rsdtc", ON_STUDY),),
        results=("rsstresc",),
        on_study="assessed on study, except progression on a prior regimen (EPOCH PRIOR THERAPY)",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "RSTESTCD",
            "RSTEST",
            "RSCAT",
            "RSORRES",
            "RSSTRESC",
            "RSEVAL",
            "EPOCH",
            "VISIT",
            "RSLNKGRP",
            "RSDTC",
            "DTHPDFL",
            "NACTDT",
        ),
    ),
    Domain(
        "vs",
        "Vital signs",
        ("USUBJID", "VSTESTCD", "VSDTC"),
        ("USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VSDTC"),
        ("VISIT",),
        key_normalization={"VSTESTCD": "upper"},
        dates=(DateColumn("vsdtc", ON_STUDY),),
        results=("vsorres",),
        units=("vsorresu",),
        on_study="measured from the study's first RFSTDTC (minus a window) on",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "VSTESTCD",
            "VSTEST",
            "VSORRES",
            "VSORRESU",
            "VISIT",
            "VSDTC",
        ),
    ),
    Domain(
        "ds",
        "Disposition",
        ("USUBJID", "DSCAT", "DSSCAT"),
        ("USUBJID", "DSDECOD", "DSSTDTC"),
        ("DSTERM", "DSCAT", "DSSCAT", "EPOCH"),
        # a later delivery's record corrects the reason (feeds.md): the key holds no date
        key_normalization={"DSCAT": "upper_or_empty", "DSSCAT": "upper_or_empty"},
        # screen failures end before the first subject's RFSTDTC: history, not on-study
        dates=(DateColumn("dsstdtc", HISTORY),),
        results=("dsdecod",),
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "DSTERM",
            "DSDECOD",
            "DSCAT",
            "DSSCAT",
            "EPOCH",
            "DSSTDTC",
        ),
        on_study=(
            "END OF TREATMENT and END OF STUDY (DSSCAT) disposition events; a DISPOSITION "
            "EVENT without DSSCAT is the end of study (SDTM's study-level disposition)"
        ),
    ),
    Domain(
        "mh",
        "Medical history",
        ("USUBJID", "MHTERM", "MHSTDTC"),
        ("USUBJID", "MHTERM"),
        ("MHDECOD", "MHBODSYS", "MHCAT", "MHSTDTC", "MHENDTC", "MHENRTPT"),
        key_normalization={"MHTERM": "upper"},
        may_be_empty=("MHSTDTC",),
        dates=(
            DateColumn("mhstdtc", HISTORY, blocking=False),
            DateColumn("mhendtc", HISTORY, blocking=False),
        ),
        on_study="none: conditions before the first study dose (ongoing when no end date)",
        feed_columns=(
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "MHSEQ",
            "MHTERM",
            "MHDECOD",
            "MHBODSYS",
            "MHCAT",
            "MHSTDTC",
            "MHENDTC",
            "MHENRTPT",
        ),
    ),
)

#: The registry by lower-case domain name.
DOMAINS: dict[str, Domain] = {d.name: d for d in REGISTRY}


def compute_result_columns() -> tuple[str, ...]:
    """Every domain's result columns, in registry order (the raw gate's flood checks)."""
    return tuple(c for d in REGISTRY for c in d.results)

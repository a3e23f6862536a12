"""Reference data the gates check against: one source of truth shared with dbt.

Controlled terminology for lab test codes, specimens and units comes from the dbt seeds
(``dbt/seeds/lab_tests.csv``, ``lab_test_aliases.csv``, ``lab_unit_conversions.csv``), so the
raw gate and staging never disagree about what a known code is. Physically possible ranges
per test (in the standard unit) are the gate's own and live beside this module
(``reference/lab_physical_limits.csv``). Everything is read in a stable order so that the
generated suites are byte-identical from one build to the next.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cfz_platform.config import dbt_project_dir

HERE = Path(__file__).resolve().parent

#: IMWG response categories (domain.md 4), also the investigator's RS.RSSTRESC for OVRLRESP.
RESPONSE_CATEGORIES: tuple[str, ...] = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
#: Other RS record kinds of feeds.md and their allowed values.
ECOG_VALUES: tuple[str, ...] = ("0", "1", "2", "3", "4")
SKELETAL_SURVEY_VALUES: tuple[str, ...] = ("NO NEW LESIONS", "PROGRESSION")
#: Specimens of feeds.md's lab table (LBSPEC may also be empty).
SPECIMENS: tuple[str, ...] = ("SERUM", "URINE", "BLOOD", "BONE MARROW")
#: Time-to-event parameters (issue 6) and eligibility criteria (domain.md 2).
TTE_PARAMS: tuple[str, ...] = ("TTP", "PFS", "OS", "PFSMAINT", "DOR")
CRITERIA: tuple[str, ...] = ("E1", "E2", "E3", "E4", "E5", "E6", "E7")
ELIGIBILITY_STATUSES: tuple[str, ...] = ("met", "not_met", "not_evaluable")
#: Share of rows allowed outside a controlled terminology before it counts as a flood
#: (blocking); any unknown value at all is a warning.
FLOOD_THRESHOLD = 0.05
#: RDI bounds of the mart gate (domain.md 3): within (0, RDI_MAX].
RDI_MAX = 1.5


#: Date plausibility (feeds.md) is set by dbt vars, with these defaults when a var is absent.
DATE_VAR_DEFAULTS: dict[str, object] = {
    "date_sanity_floor": "1900-01-01",  # nothing in any feed is dated before this
    "study_date_window_days": 365,  # on-study records at most this long before the first RFSTDTC
    "prior_pd_epoch": "PRIOR THERAPY",  # RS.EPOCH of progression on a prior regimen (history)
}


@lru_cache(maxsize=1)
def dbt_vars() -> dict[str, object]:
    """The ``vars`` of ``dbt/dbt_project.yml`` (thresholds live there, one source of truth)."""
    import yaml

    path = dbt_project_dir() / "dbt_project.yml"
    if not path.exists():
        return {}
    return dict((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {})


def _date_var(name: str) -> object:
    return dbt_vars().get(name, DATE_VAR_DEFAULTS[name])


def date_sanity_floor() -> str:
    """Earliest plausible date of anything (history included), ISO ``YYYY-MM-DD``."""
    value = str(_date_var("date_sanity_floor"))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"dbt var date_sanity_floor must be a YYYY-MM-DD date, not {value!r}")
    return value


def study_date_window_days() -> int:
    """How many days before the study's first RFSTDTC an on-study record may be dated."""
    return int(_date_var("study_date_window_days"))


def prior_pd_epoch() -> str:
    """RS.EPOCH marking progression on a prior regimen (dated before the study)."""
    return str(_date_var("prior_pd_epoch")).replace("'", "''")


@dataclass(frozen=True)
class LabLimit:
    lbtestcd: str
    lbspec: str
    low: float
    high: float
    standard_unit: str


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _seed(name: str) -> list[dict[str, str]]:
    path = dbt_project_dir() / "seeds" / name
    return _read_csv(path) if path.exists() else []


@lru_cache(maxsize=1)
def lab_aliases() -> tuple[tuple[str, str, str, str], ...]:
    """(source_code, source_spec, lbtestcd, lbspec) rows of the alias seed, sorted."""
    rows = {
        (r["source_code"].upper(), (r.get("source_spec") or "").upper(), r["lbtestcd"], r["lbspec"])
        for r in _seed("lab_test_aliases.csv")
    }
    rows |= {
        (r["lbtestcd"], r["lbspec"], r["lbtestcd"], r["lbspec"]) for r in _seed("lab_tests.csv")
    }
    return tuple(sorted(rows))


@lru_cache(maxsize=1)
def known_test_codes() -> tuple[str, ...]:
    """Every LBTESTCD the platform can map: standard codes and their aliases."""
    return tuple(sorted({a[0] for a in lab_aliases()} | {a[2] for a in lab_aliases()}))


@lru_cache(maxsize=1)
def text_result_tests() -> frozenset[str]:
    """Standard test codes whose result is text (no unit), e.g. immunofixation."""
    return frozenset(
        r["lbtestcd"] for r in _seed("lab_tests.csv") if r.get("result_type") == "text"
    )


@lru_cache(maxsize=1)
def unit_conversions() -> tuple[tuple[str, str, str, float], ...]:
    """(lbtestcd, lbspec, from_unit, factor to the standard unit), sorted; standard units too."""
    rows = {
        (r["lbtestcd"], r["lbspec"], r["from_unit"], float(r["factor"]))
        for r in _seed("lab_unit_conversions.csv")
    }
    rows |= {
        (r["lbtestcd"], r["lbspec"], r["standard_unit"], 1.0)
        for r in _seed("lab_tests.csv")
        if r.get("standard_unit")
    }
    return tuple(sorted(rows))


@lru_cache(maxsize=1)
def known_units() -> tuple[str, ...]:
    """Every LBORRESU the platform can convert, plus the spellings of 'no unit'."""
    units = {u for _, _, u, _ in unit_conversions()} | {"", "NO UNITS", "(blank)"}
    return tuple(sorted(units))


@lru_cache(maxsize=1)
def lab_limits() -> tuple[LabLimit, ...]:
    """Physically possible range per test and specimen, in the standard unit."""
    return tuple(
        LabLimit(r["lbtestcd"], r["lbspec"], float(r["low"]), float(r["high"]), r["standard_unit"])
        for r in sorted(
            _read_csv(HERE / "reference" / "lab_physical_limits.csv"),
            key=lambda r: (r["lbtestcd"], r["lbspec"]),
        )
    )

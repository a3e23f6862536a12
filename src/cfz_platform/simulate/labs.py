"""LB rows: test codes, site units and vendor aliases, rounding, reference ranges.

Every numeric result is rounded in the unit it is sent in; the value handed back to the
caller is that sent value converted back to the standard unit, so that the truth is computed
on exactly what the feed says. Vendor aliases in use: see ``params.VENDOR_ALIASES``
(SPEP, UPEP, M-PROTEIN, B2M, PLT, ANC).
"""

from __future__ import annotations

import math
from functools import lru_cache

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import TAG_LB_NONCRIT, TAG_LB_NUM, Record, iso

NONCRITICAL = frozenset({"CREAT", "BILI", "CA", "ALT", "AST", "LDH", "K", "SODIUM", "IGM"})
RESP_PANEL = ("MPROTEIN/SERUM", "MPROTEIN/URINE", "KLCFR", "LLCFR")
CBC = ("HGB", "PLAT", "NEUT", "WBC", "LYM")
CHEM = ("ALB", "CREAT", "BILI", "CA", "ALT", "AST", "LDH", "K", "SODIUM")
IGS = ("IGG", "IGA", "IGM", "B2MICG")


def unit_factor(key: str, unit: str) -> float:
    """Factor from the standard unit to ``unit`` (value_in_unit = std * factor)."""
    if unit == P.LAB_TESTS[key].unit:
        return 1.0
    for u, f in P.ALT_UNITS.get(key, ()):
        if u == unit:
            return f
    raise KeyError(f"{key} has no unit {unit}")


def unit_decimals(key: str, factor: float) -> int:
    """Decimals to send: the standard decimals shifted by the unit factor's magnitude."""
    return int(min(4, max(0, P.LAB_TESTS[key].decimals - math.floor(math.log10(factor)))))


@lru_cache(maxsize=512)
def _unit_spec(key: str, unit: str) -> tuple[float, int, str, str]:
    """(factor, decimals, LBORNRLO, LBORNRHI) of a test sent in ``unit`` (cached)."""
    t = P.LAB_TESTS[key]
    f = unit_factor(key, unit)
    dec = unit_decimals(key, f)
    lo = "" if t.lo is None or (t.lo == 0 and t.hi == 0) else f"{t.lo * f:.{dec}f}"
    hi = "" if t.hi is None or (t.lo == 0 and t.hi == 0) else f"{t.hi * f:.{dec}f}"
    return f, dec, lo, hi


def format_lab(key: str, std: float, unit: str) -> tuple[str, str, str, float]:
    """Return (LBORRES, LBORNRLO, LBORNRHI, value sent converted back to standard unit).

    Steps: look up the unit's factor, decimals and range (cached); round the converted
    value to those decimals; convert the sent value back to the standard unit.
    """
    f, dec, lo, hi = _unit_spec(key, unit)
    sent = round(std * f, dec)
    return f"{sent:.{dec}f}", lo, hi, sent / f


class LabEmitter:
    """Builds LB records for one subject at one site."""

    def __init__(self, usubjid: str, site: str, subj_no: int, records: list[Record]):
        self.usubjid = usubjid
        self.units = P.SITE_UNITS.get(site, {})
        self.aliases = P.SITE_ALIASES.get(site, {})
        self.subj_no = subj_no
        self.records = records

    def _row(
        self, key: str, orres: str, unit: str, lo: str, hi: str, day: int, visit: str
    ) -> list[str]:
        t = P.LAB_TESTS[key]
        code = self.aliases.get(key, t.code)
        return [
            P.STUDYID,
            "LB",
            self.usubjid,
            f"S{self.subj_no:05d}{day}",
            code,
            t.name,
            t.cat,
            t.spec,
            orres,
            unit,
            lo,
            hi,
            "",
            "",
            "",
            "",
            "",
            visit,
            iso(day),
        ]

    def num(self, key: str, std: float, day: int, visit: str, lag: int) -> float:
        """Emit a numeric result (clipped to [0, the test's physiologic ceiling]: every value
        sent is physically possible); return the sent value in the standard unit."""
        std = max(0.0, min(std, P.LAB_CEILING.get(key, std)))
        unit = self.units.get(key, P.LAB_TESTS[key].unit)
        orres, lo, hi, back = format_lab(key, std, unit)
        tag = TAG_LB_NUM | (TAG_LB_NONCRIT if key in NONCRITICAL else 0)
        self.records.append(
            Record(
                "lb",
                day + lag,
                self._row(key, orres, unit, lo, hi, day, visit),
                tag,
                (key, back, unit),
            )
        )
        return back

    def text(self, key: str, value: str, day: int, visit: str, lag: int) -> None:
        """Emit a categorical result (immunofixation)."""
        self.records.append(Record("lb", day + lag, self._row(key, value, "", "", "", day, visit)))

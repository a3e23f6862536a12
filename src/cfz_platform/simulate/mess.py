"""Feed mess: delivery assignment, late records, corrections, malformed and odd rows.

Every injected problem becomes one row of truth/errors.csv. Categories:

* ``structural`` (rejected at ingestion): wrong field count, bytes that are not UTF-8
  (a Latin-1 byte 0xE9 in a text column), empty USUBJID. The clean row is re-sent in the
  next delivery, so nothing is lost;
* ``semantic`` (loaded, flagged by staging, never re-sent; only on chemistry results the
  truth does not use): unparseable LBDTC (DD/MM/YYYY), non-numeric LBORRES, unknown unit,
  unknown test code (``<CODE>_V2``), a USUBJID that DM never names (last digit dropped);
* ``correction``: a lab result first sent with the decimal point shifted, re-sent with the
  right value (same natural key) 1-3 deliveries later; file/line point at the wrong version;
* ``late``: a record delivered 1-2 deliveries after it was available; kind
  ``subject_not_yet_in_dm`` when it is a subject's first DM row (their other records arrive
  before DM names them); file/line point at where it finally arrives;
* ``unit_mix``: a result sent in another known unit than the site usually uses;
* ``partial_date``: AEENDTC or CMENDTC truncated to YYYY-MM;
* ``missing_visit``: a visit not done (no file/line).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.labs import format_lab
from cfz_platform.simulate.records import (
    COL_INDEX,
    TAG_DM_FIRST,
    TAG_LB_NONCRIT,
    TAG_LB_NUM,
    TAG_PARTIAL_END,
    Record,
)

TEXT_COL = {
    "lb": "LBTEST",
    "ex": "EXROUTE",
    "ae": "AETERM",
    "rs": "RSTEST",
    "vs": "VSTEST",
    "cm": "CMCAT",
}
BAD_UNIT = {
    "ALT": "ukat/L",
    "AST": "ukat/L",
    "LDH": "ukat/L",
    "CREAT": "mg%",
    "BILI": "mg%",
    "CA": "mg%",
    "K": "mEq/dL",
    "SODIUM": "mEq/dL",
    "IGM": "mg%",
}
NON_NUMERIC = ("HEMOLYZED", "QNS", "see comment")


@dataclass
class Out:
    """One row to write: delivery index, domain, values, and the error it carries (if any)."""

    k: int
    domain: str
    row: list[str]
    err: dict | None = None


def _err(kind: str, category: str, column: str, value: str, usubjid: str, description: str) -> dict:
    return {
        "kind": kind,
        "category": category,
        "column": column,
        "value": value,
        "usubjid": usubjid,
        "description": description,
    }


def delivery_index(delivery_days: list[int], avail: int) -> int:
    """The first delivery strictly after the day the record became available."""
    return min(bisect_right(delivery_days, avail), len(delivery_days) - 1)


def apply_mess(
    records: list[Record],
    usubjid: str,
    delivery_days: list[int],
    rng: np.random.Generator,
    rate: float,
    dm_late: bool,
    delivery_ids: list[str],
    counter: dict | None = None,
) -> list[Out]:
    """Assign records to deliveries and inject the mess (steps in the module docstring).

    ``counter`` (shared across subjects) cycles the structural and semantic kinds so that
    every kind occurs once enough errors are made.
    """
    counter = counter if counter is not None else {}
    last = len(delivery_days) - 1
    out: list[Out] = []
    u = rng.random(len(records)) if rate > 0 else np.ones(len(records))
    u2 = rng.random(len(records)) if rate > 0 else np.ones(len(records))
    for rec, x, x2 in zip(records, u, u2, strict=True):
        k = delivery_index(delivery_days, rec.avail)
        row = rec.row
        dom = rec.domain
        if rec.tag & TAG_DM_FIRST:
            if dm_late and k < last:
                k2 = min(last, k + 2)
                out.append(
                    Out(
                        k2,
                        dom,
                        row,
                        _err(
                            "subject_not_yet_in_dm",
                            "late",
                            "USUBJID",
                            usubjid,
                            usubjid,
                            f"DM row due in {delivery_ids[k]} arrives in {delivery_ids[k2]}; "
                            "earlier rows of this subject precede DM",
                        ),
                    )
                )
            else:
                out.append(Out(k, dom, row))
            continue
        if rec.tag & TAG_PARTIAL_END and x2 < min(1.0, 8 * rate):
            col = "AEENDTC" if dom == "ae" else "CMENDTC"
            i = COL_INDEX[dom][col]
            new = list(row)
            new[i] = row[i][:7]
            out.append(
                Out(
                    k,
                    dom,
                    new,
                    _err(
                        "partial_date",
                        "partial_date",
                        col,
                        new[i],
                        usubjid,
                        f"{col} {row[i]} sent as {new[i]}",
                    ),
                )
            )
            continue
        if x >= rate:
            out.append(Out(k, dom, row))
            continue
        y = x / rate  # uniform in [0, 1): picks the kind of mess
        if dom == "dm":
            out.append(Out(k, dom, row))
        elif y < 0.15:
            out.extend(_structural(counter, k, last, dom, row, usubjid, delivery_ids))
        elif y < 0.40 and dom == "lb" and rec.tag & TAG_LB_NONCRIT:
            out.append(_semantic(counter, k, row, rec.meta, usubjid))
        elif y < 0.55 and dom == "lb" and rec.tag & TAG_LB_NUM and k < last:
            out.extend(_correction(rng, k, last, row, usubjid, delivery_ids))
        elif y < 0.85 and k < last:
            k2 = min(last, k + int(rng.integers(1, 3)))
            out.append(
                Out(
                    k2,
                    dom,
                    row,
                    _err(
                        "late_record",
                        "late",
                        "",
                        "",
                        usubjid,
                        f"{dom.upper()} row due in {delivery_ids[k]} arrives in {delivery_ids[k2]}",
                    ),
                )
            )
        elif dom == "lb" and rec.tag & TAG_LB_NUM and P.ALT_UNITS.get(rec.meta[0]):
            out.append(_unit_mix(rng, k, row, rec.meta, usubjid))
        else:
            out.append(Out(k, dom, row))
    return _one_dm_row_per_delivery(out)


def _one_dm_row_per_delivery(out: list[Out]) -> list[Out]:
    """A DM update (death) landing in the same delivery as the first DM row replaces it there.

    A delivery never holds one natural key twice (feeds.md); the first row's error (e.g. a
    late DM row) moves to the row that is sent.
    """
    dm = [i for i, o in enumerate(out) if o.domain == "dm"]
    drop: set[int] = set()
    for a_pos, a in enumerate(dm):
        for b in dm[a_pos + 1 :]:
            if out[a].k == out[b].k:
                drop.add(a)
                if out[a].err is not None and out[b].err is None:
                    out[b].err = out[a].err
                break
    return [o for i, o in enumerate(out) if i not in drop] if drop else out


def _next(counter: dict, name: str, n: int) -> int:
    counter[name] = counter.get(name, -1) + 1
    return counter[name] % n


def _structural(counter, k, last, dom, row, usubjid, ids) -> list[Out]:
    kind = ("wrong_field_count", "invalid_utf8", "empty_key")[_next(counter, "structural", 3)]
    bad = list(row)
    col = ""
    if kind == "wrong_field_count":
        if _next(counter, "field_count", 2) == 0:
            bad = bad[:-1]
            desc = f"{len(bad)} fields instead of {len(row)}"
        else:
            bad = bad + ["EXTRA"]
            desc = f"{len(bad)} fields instead of {len(row)}"
    elif kind == "invalid_utf8":
        col = TEXT_COL[dom]
        i = COL_INDEX[dom][col]
        bad[i] = bad[i] + " r\udce9sultat"
        desc = f"byte 0xE9 (Latin-1) in {col}: not UTF-8"
    else:
        col = "USUBJID"
        bad[2] = ""
        desc = "empty natural-key column USUBJID"
    k2 = min(last, k + 1)
    return [
        Out(
            k,
            dom,
            bad,
            _err(
                kind,
                "structural",
                col,
                bad[COL_INDEX[dom][col]].encode("utf-8", "surrogateescape").decode("latin-1")
                if col
                else "",
                usubjid,
                desc + f"; clean row re-sent in {ids[k2]}",
            ),
        ),
        Out(k2, dom, row),
    ]


def _semantic(counter, k, row, meta, usubjid) -> Out:
    key = meta[0]
    kind = (
        "unparseable_date",
        "non_numeric_result",
        "unknown_unit",
        "unknown_test_code",
        "subject_not_in_dm",
    )[_next(counter, "semantic", 5)]
    bad = list(row)
    ix = COL_INDEX["lb"]
    if kind == "unparseable_date":
        y, m, d = row[ix["LBDTC"]].split("-")
        col, bad[ix["LBDTC"]] = "LBDTC", f"{d}/{m}/{y}"
    elif kind == "non_numeric_result":
        col, bad[ix["LBORRES"]] = "LBORRES", NON_NUMERIC[_next(counter, "non_numeric", 3)]
    elif kind == "unknown_unit":
        col, bad[ix["LBORRESU"]] = "LBORRESU", BAD_UNIT.get(key, "mg%")
    elif kind == "unknown_test_code":
        col, bad[ix["LBTESTCD"]] = "LBTESTCD", row[ix["LBTESTCD"]] + "_V2"
    else:
        col, bad[ix["USUBJID"]] = "USUBJID", usubjid[:-1]
    return Out(
        k,
        "lb",
        bad,
        _err(
            kind,
            "semantic",
            col,
            bad[ix[col]],
            usubjid,
            f"{col} {row[ix[col]]!r} sent as {bad[ix[col]]!r}",
        ),
    )


def _correction(rng, k, last, row, usubjid, ids) -> list[Out]:
    """A result sent with a decimal slip (a tenth of the true value: 11.4 -> 1.14), resent
    corrected one to three deliveries later.

    The slip goes down, not up: a tenth of a real result is always physically possible, so
    the nights between the slip and its correction publish (a wrong but possible value, as
    real feeds have), instead of every night of a large trial being blocked by the raw gate's
    physical limits (a deliberately impossible value is a planted problem in the gate tests).
    """
    ix = COL_INDEX["lb"]["LBORRES"]
    good = row[ix]
    dec = len(good.split(".")[1]) if "." in good else 0
    wrong = f"{float(good) / 10:.{dec + 1}f}" if float(good) != 0 else "1"
    bad = list(row)
    bad[ix] = wrong
    k2 = min(last, k + int(rng.integers(1, 4)))
    return [
        Out(
            k,
            "lb",
            bad,
            _err(
                "corrected_result",
                "correction",
                "LBORRES",
                wrong,
                usubjid,
                f"LBORRES {wrong} corrected to {good} in {ids[k2]}",
            ),
        ),
        Out(k2, "lb", row),
    ]


def _unit_mix(rng, k, row, meta, usubjid) -> Out:
    key, std, unit = meta
    choices = [u for u, _f in P.ALT_UNITS[key]] + [P.LAB_TESTS[key].unit]
    choices = [c for c in choices if c != unit]
    new_unit = choices[int(rng.integers(0, len(choices)))]
    orres, lo, hi, _ = format_lab(key, std, new_unit)
    ix = COL_INDEX["lb"]
    new = list(row)
    new[ix["LBORRES"]], new[ix["LBORRESU"]], new[ix["LBORNRLO"]], new[ix["LBORNRHI"]] = (
        orres,
        new_unit,
        lo,
        hi,
    )
    return Out(
        k,
        "lb",
        new,
        _err(
            "unusual_unit",
            "unit_mix",
            "LBORRESU",
            new_unit,
            usubjid,
            f"{key} sent in {new_unit} instead of the site's {unit} ({row[ix['LBORRES']]} {unit})",
        ),
    )

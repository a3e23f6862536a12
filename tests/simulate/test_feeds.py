"""Feed contract and injected mess of the default trial, reconciled with truth/errors.csv."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

from cfz_platform.simulate.params import SimConfig
from cfz_platform.simulate.records import COLUMNS
from cfz_platform.simulate.trial import run_simulation

from .feeds import read_domain


def _physical_line(path: Path, line: int) -> bytes:
    return path.read_bytes().split(b"\r\n")[line - 1]


def _corrected_results(
    trial, lb: list[dict], field: str, value: str
) -> list[tuple[dict, dict, list[dict]]]:
    """(error record, first version as sent, every version in delivery order) for each
    corrected LB result in errors.csv whose ``field`` is ``value``; there is at least one."""
    by_key: dict[tuple, list[dict]] = {}
    for r in lb:
        by_key.setdefault((r["USUBJID"], r["LBTESTCD"], r["LBSPEC"], r["LBDTC"]), []).append(r)
    out = []
    for e in (e for e in trial.errors if e[field] == value):
        first = next(
            r for r in lb if r["_delivery"] == e["delivery_id"] and r["_line"] == int(e["line"])
        )
        out.append(
            (
                e,
                first,
                by_key[(first["USUBJID"], first["LBTESTCD"], first["LBSPEC"], first["LBDTC"])],
            )
        )
    assert out
    return out


def test_landing_layout_and_contract(trial):
    """Delivery folders sort in delivery order; every file has the contract header, STUDYID and DOMAIN."""
    dirs = sorted(p.name for p in trial.landing.iterdir())
    assert dirs == trial.study["deliveries"] and len(dirs) == 12
    assert all(len(d) == 15 and d.endswith("T020000") for d in dirs)
    domains = set()
    for f in trial.landing.glob("*/*.csv"):
        domains.add(f.stem)
        text = f.read_bytes().decode("utf-8", errors="surrogateescape")
        rows = list(csv.reader(text.splitlines()))
        assert tuple(rows[0]) == COLUMNS[f.stem]
        for r in rows[1:]:
            if len(r) == len(rows[0]):
                assert r[0] == "CFZ-MM-01" and r[1] == f.stem.upper()
    assert domains == {"dm", "lb", "ex", "cm", "ae", "rs", "vs", "ds", "mh"}
    lb = read_domain(trial.landing, "lb")
    units = {
        r["LBORRESU"]
        for r in lb
        if r["LBTESTCD"] in ("MPROTEIN", "SPEP", "M-PROTEIN") and r["LBSPEC"] == "SERUM"
    }
    assert {"g/dL", "g/L", "mg/dL"} <= units
    assert {"SPEP", "UPEP", "M-PROTEIN", "B2M", "PLT", "ANC"} <= {r["LBTESTCD"] for r in lb}


def test_records_arrive_after_they_happen(trial):
    """No record is delivered on or before its own date (lab results come days later)."""
    for dom, col in (("lb", "LBDTC"), ("ex", "EXSTDTC"), ("ae", "AESTDTC"), ("rs", "RSDTC")):
        for r in read_domain(trial.landing, dom):
            if len(r[col]) == 10 and r[col][4] == "-":
                assert r[col].replace("-", "") < r["_delivery"][:8], (dom, r)


def test_every_error_is_where_errors_csv_says(trial):
    """Structural errors are malformed at file+line; semantic values are as stated; corrections and late rows exist."""
    cats = {e["category"] for e in trial.errors}
    assert cats == {
        "structural",
        "semantic",
        "correction",
        "late",
        "missing_visit",
        "partial_date",
        "unit_mix",
    }
    kinds = {e["kind"] for e in trial.errors}
    assert {
        "wrong_field_count",
        "invalid_utf8",
        "empty_key",
        "unparseable_date",
        "non_numeric_result",
        "unknown_unit",
        "unknown_test_code",
        "subject_not_in_dm",
        "subject_not_yet_in_dm",
    } <= kinds
    for e in trial.errors:
        if e["category"] == "missing_visit":
            assert e["file"] == "" and e["value"]
            continue
        path = trial.landing / e["file"]
        raw = _physical_line(path, int(e["line"]))
        ncols = len(COLUMNS[path.stem])
        assert e["file"].startswith(e["delivery_id"] + "/")
        if e["kind"] == "invalid_utf8":
            try:
                raw.decode("utf-8")
                raise AssertionError("expected undecodable bytes")
            except UnicodeDecodeError:
                pass
            continue
        fields = next(csv.reader([raw.decode("utf-8")]))
        if e["kind"] == "wrong_field_count":
            assert len(fields) != ncols
        elif e["kind"] == "empty_key":
            assert fields[2] == ""
        else:
            assert len(fields) == ncols and fields[2], e
            if e["column"]:
                assert fields[COLUMNS[path.stem].index(e["column"])] == e["value"], e
    lb = read_domain(trial.landing, "lb")
    corrections = _corrected_results(trial, lb, "category", "correction")
    for e, first, versions in corrections:
        assert len(versions) == 2 and versions[-1]["_delivery"] > first["_delivery"]
        assert versions[-1]["LBORRES"] != first["LBORRES"] == e["value"]
    dm_names = {r["USUBJID"] for r in read_domain(trial.landing, "dm")}
    ghost = [e for e in trial.errors if e["kind"] == "subject_not_in_dm"]
    assert ghost and all(e["value"] not in dm_names for e in ghost)
    late_dm = next(e for e in trial.errors if e["kind"] == "subject_not_yet_in_dm")
    earlier = [
        r
        for r in lb
        if r["USUBJID"] == late_dm["usubjid"] and r["_delivery"] < late_dm["delivery_id"]
    ]
    assert earlier


def test_a_correction_first_sends_a_tenth_of_the_true_value(trial):
    """The first version of a corrected result is a decimal slip downwards (11.4 sent as
    1.14): wrong but physically possible, so the nights before the correction can publish."""
    for e, first, versions in _corrected_results(
        trial, read_domain(trial.landing, "lb"), "kind", "corrected_result"
    ):
        corrected = versions[-1]
        if Decimal(corrected["LBORRES"]) == 0:
            assert first["LBORRES"] == "1"
        else:
            assert Decimal(first["LBORRES"]) * 10 == Decimal(corrected["LBORRES"]), e
            assert 0 <= Decimal(first["LBORRES"]) < Decimal(corrected["LBORRES"])


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_same_arguments_give_byte_identical_files(tmp_path):
    cfg = SimConfig(patients=24, seed=7, deliveries=5)
    run_simulation(cfg, tmp_path / "a" / "landing")
    run_simulation(cfg, tmp_path / "b" / "landing")
    run_simulation(SimConfig(patients=24, seed=8, deliveries=5), tmp_path / "c" / "landing")
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert _tree_hash(tmp_path / "a") != _tree_hash(tmp_path / "c")


def test_zero_error_rate_gives_clean_feeds(tmp_path):
    run_simulation(SimConfig(patients=20, seed=3, error_rate=0.0), tmp_path / "landing")
    with open(tmp_path / "truth" / "errors.csv", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == []
    for f in (tmp_path / "landing").glob("*/*.csv"):
        f.read_bytes().decode("utf-8")


def test_cli_default_call(tmp_path):
    from tests.conftest import run_cfz

    proc = run_cfz(
        "simulate", "--patients", "12", "--seed", "5", "--out", str(tmp_path / "landing")
    )
    assert "12 enrolled" in proc.stdout
    assert (tmp_path / "truth" / "subjects.csv").exists()
    assert (
        run_cfz(
            "simulate", "--start-date", "nope", "--out", str(tmp_path / "x"), check=False
        ).returncode
        != 0
    )

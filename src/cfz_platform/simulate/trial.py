"""Run a whole simulated trial: plan, subjects one by one (streamed), deliveries, truth.

Steps of ``run_simulation``:
1. plan enrolment and the 3+3 path (``subjects.plan_trial``), whose escalation subjects'
   cycle 1 is simulated by ``probe_cycle1`` to know who is DLT-evaluable; delivery dates
   are spread evenly from the start date to 15 days after the data cutoff;
2. for each subject (in subject order, each with its own generators seeded by the subject's
   ``rng_key``, so the work is linear, the output byte-identical for the same arguments
   and an escalation subject's course the one probed in step 1): simulate the course,
   apply the feed mess, stream the rows to their delivery files, keep the truth row;
3. write the truth folder: subjects.csv, dose_escalation.csv, study.json, errors.csv.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.course import simulate_screen_failure, simulate_subject
from cfz_platform.simulate.disposition import DISPOSITION_TRUTH_COLUMNS, build_disposition
from cfz_platform.simulate.escalation import EscalationResult
from cfz_platform.simulate.medical_history import MH_TRUTH_COLUMNS, build_medical_history
from cfz_platform.simulate.mess import apply_mess, delivery_index
from cfz_platform.simulate.scenarios import SCENARIOS
from cfz_platform.simulate.subject_sim import Missing
from cfz_platform.simulate.subjects import SubjectPlan, TrialPlan, plan_trial
from cfz_platform.simulate.supportive_care import CM_TRUTH_COLUMNS, build_supportive_medications
from cfz_platform.simulate.truth import (
    ERROR_COLUMNS,
    ESCALATION_COLUMNS,
    SUBJECT_COLUMNS,
    write_csv,
    write_study,
)
from cfz_platform.simulate.truth_rules import compute_escalation
from cfz_platform.simulate.vital_signs import BSA_TRUTH_COLUMNS, build_bsa_truth
from cfz_platform.simulate.writer import DeliveryWriter

DELIVERY_RE = re.compile(r"^\d{8}T\d{6}$")


def _clear(out: Path) -> None:
    """Remove delivery folders left by an earlier run (and nothing else)."""
    if out.is_dir():
        for child in out.iterdir():
            if child.is_dir() and DELIVERY_RE.match(child.name):
                shutil.rmtree(child)


def _generators(seed: int, plan: SubjectPlan) -> tuple[np.random.Generator, np.random.Generator]:
    """The subject's course generator and feed-mess generator (keyed by ``rng_key``)."""
    return (
        np.random.default_rng([seed, 1, *plan.rng_key]),
        np.random.default_rng([seed, 2, *plan.rng_key]),
    )


def probe_cycle1(cfg: P.SimConfig, miss_rate: float) -> Callable[[SubjectPlan], int]:
    """A probe for ``plan_trial``: simulate a planned escalation subject's course with the
    generators the real run will use; return the carfilzomib doses given in cycle 1.

    Cycle 1 does not depend on the data cutoff (no cycle-1 visit is ever skipped and the
    cutoff is >= 330 days after every first dose), so a cutoff right after cycle 2 starts
    gives the same cycle 1 as the real run, cheaply.
    """

    def probe(plan: SubjectPlan) -> int:
        assert plan.first_dose is not None
        rng, mrng = _generators(cfg.seed, plan)
        res = simulate_subject(
            plan, plan.first_dose + 2 * P.CYCLE_DAYS, rng, mrng, miss_rate, 1, cfg.seed
        )
        return int(res.truth["cycle1_doses_given"])

    return probe


def _ordinal(text: str) -> int | None:
    """The ordinal of an ISO date text, None when empty."""
    return date.fromisoformat(text).toordinal() if text else None


def _write_safety_domains(
    writer: DeliveryWriter,
    cfg: P.SimConfig,
    delivery_days: list[int],
    cutoff: int,
    s: SubjectPlan,
    truth: dict,
    safety: dict[str, list[dict]],
) -> None:
    """Write a subject's DS, MH and supportive CM rows (untouched by the feed mess, from no
    shared generator: the other feeds of a seeded trial stay as they were) and collect their
    truth. Supportive medications go to treated subjects (a dose given)."""
    rows, ds_truth = build_disposition(truth, s.consent, delivery_days[-1])
    safety["disposition"].append(ds_truth)
    if s.first_dose is not None:
        mh_rows, mh_truth = build_medical_history(
            s.usubjid, s.consent, s.first_dose, cfg.seed, s.index
        )
        rows += mh_rows
        safety["medical_history"] += mh_truth
    if s.first_dose is not None and truth["saffl"]:
        cm_rows, cm_truth = build_supportive_medications(
            s.usubjid,
            s.consent,
            _ordinal(truth["first_dose_date"]) or s.first_dose,
            _ordinal(truth["last_dose_date"]),
            _ordinal(truth["death_date"]),
            bool(truth["imid_regimen"]),
            cutoff,
            cfg.seed,
            s.index,
        )
        rows += cm_rows
        safety["concomitant_medications"] += cm_truth
    for avail, row in rows:
        writer.write(delivery_index(delivery_days, avail), row[1].lower(), row)


def run_simulation(cfg: P.SimConfig, out: Path, truth_dir: Path | None = None) -> dict:
    """Simulate the trial and write deliveries plus truth; return a summary.

    Steps (the module docstring tells why):
    1. clear earlier delivery folders under ``out``; plan the trial with the cycle-1 probe;
       name the deliveries by their days;
    2. pick the subjects whose DM record arrives late (``_late_dm_subjects``);
    3. simulate each subject, mess its rows and stream them to the deliveries, collecting
       the truth and the injected problems (``_simulate_subjects``); number the problems;
    4. check the 3+3 path against domain.md's rules and tabulate it (``_escalation_truth``);
    5. write the truth folder (``_write_truth``).
    """
    t0 = time.perf_counter()
    out = Path(out)
    truth_dir = Path(truth_dir) if truth_dir is not None else out.parent / "truth"
    _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    miss_rate = min(0.3, 2.0 * cfg.error_rate)
    plan = plan_trial(cfg, probe_cycle1(cfg, miss_rate))
    ids = [date.fromordinal(d).strftime("%Y%m%d") + "T020000" for d in plan.delivery_days]
    writer = DeliveryWriter(out, ids)
    enrolled, dm_late = _late_dm_subjects(cfg, plan)
    truths, errors, safety = _simulate_subjects(cfg, plan, writer, ids, miss_rate, dm_late)
    writer.close()
    for i, e in enumerate(errors, start=1):
        e["error_id"] = f"E{i:06d}"
    esc_rows, mtd_rule = _escalation_truth(cfg, plan.escalation, truths)
    mtd_level = plan.escalation.mtd_level
    mtd = cfg.dose_levels[mtd_level] if mtd_level is not None else None
    _write_truth(
        truth_dir,
        truths,
        esc_rows,
        errors,
        safety,
        _study(cfg, plan, ids, truths, len(enrolled), mtd, mtd_rule),
    )
    return {
        "rows": writer.rows_written,
        "subjects": len(plan.subjects),
        "enrolled": len(enrolled),
        "errors": len(errors),
        "deliveries": ids,
        "mtd": mtd,
        "seconds": time.perf_counter() - t0,
        "truth": str(truth_dir),
    }


def _late_dm_subjects(cfg: P.SimConfig, plan: TrialPlan) -> tuple[list[int], set[int]]:
    """The enrolled subjects' indexes, and those whose DM record the feed mess delivers late:
    twice the error rate of all subjects (at least one when there are errors), drawn from
    the enrolled with their own generator."""
    sel_rng = np.random.default_rng([cfg.seed, 3])
    enrolled = [s.index for s in plan.subjects if s.first_dose is not None]
    n_dm_late = (
        max(1, int(round(len(plan.subjects) * cfg.error_rate * 2)))
        if cfg.error_rate > 0 and enrolled
        else 0
    )
    dm_late = (
        set(sel_rng.choice(enrolled, min(n_dm_late, len(enrolled)), replace=False).tolist())
        if n_dm_late
        else set()
    )
    return enrolled, dm_late


def _simulate_subjects(
    cfg: P.SimConfig,
    plan: TrialPlan,
    writer: DeliveryWriter,
    ids: list[str],
    miss_rate: float,
    dm_late: set[int],
) -> tuple[list[dict], list[dict], dict[str, list[dict]]]:
    """Simulate every subject in order; return the truth rows, the injected problems and
    the safety truth (disposition, medical history, supportive medications, BSA).

    Steps, per subject (its own generators, ``_generators``): simulate its course (a screen
    failure's or an enrolled subject's); note each visit it missed as a problem; apply the
    feed mess and write each row to its delivery, noting each injected error with where it
    landed; write its DS, MH and supportive CM rows.
    """
    counter: dict = {}
    safety: dict[str, list[dict]] = {
        "disposition": [],
        "medical_history": [],
        "concomitant_medications": [],
        "bsa": [],
    }
    truths: list[dict] = []
    errors: list[dict] = []
    for s in plan.subjects:
        rng, mrng = _generators(cfg.seed, s)
        if s.first_dose is None:
            res = simulate_screen_failure(s, plan.cutoff, rng, mrng)
        else:
            res = simulate_subject(s, plan.cutoff, rng, mrng, miss_rate, cfg.mc_replicas, cfg.seed)
        truths.append(res.truth)
        safety["bsa"] += build_bsa_truth(s.usubjid, res.records)  # before the mess touches them
        errors += [_missing_visit_error(m) for m in res.missing]
        for o in apply_mess(
            res.records,
            s.usubjid,
            plan.delivery_days,
            mrng,
            cfg.error_rate,
            s.index in dm_late,
            ids,
            counter,
        ):
            rel, line = writer.write(o.k, o.domain, o.row)
            if o.err is not None:
                errors.append({**o.err, "delivery_id": ids[o.k], "file": rel, "line": line})
        _write_safety_domains(writer, cfg, plan.delivery_days, plan.cutoff, s, res.truth, safety)
    return truths, errors, safety


def _missing_visit_error(m: Missing) -> dict:
    """The errors.csv row of a visit the subject missed (no feed row shows it)."""
    return {
        "kind": "missing_visit",
        "category": "missing_visit",
        "delivery_id": "",
        "file": "",
        "line": "",
        "column": "VISIT",
        "value": m.visit,
        "usubjid": m.usubjid,
        "description": f"visit {m.visit} on {date.fromordinal(m.day).isoformat()} not done: "
        "no samples, vitals or assessment",
    }


def _escalation_truth(
    cfg: P.SimConfig, esc: EscalationResult, truths: list[dict]
) -> tuple[list[dict], float | None]:
    """The dose_escalation.csv rows and the MTD by domain.md's rules.

    Steps: recount each level by the written rules from the subjects' truth
    (``truth_rules.compute_escalation``); assert the counts match the 3+3 play; one row per
    level played, with the play's decision and the rule that decided it.
    """
    by_rule, mtd_rule = compute_escalation(truths)
    rule = {r["level"]: r for r in by_rule}
    esc_rows = []
    for r in esc.per_level:
        lv = cfg.dose_levels[r["level_index"]]
        got = rule.get(lv)
        if got is not None:  # the counts by rule from the subjects' truth (they match the 3+3 play)
            assert (got["treated"], got["dlt_evaluable"], got["dlts"]) == (
                r["treated"],
                r["dlt_evaluable"],
                r["dlts"],
            ), (lv, got, r)
        esc_rows.append(
            {
                "doselvl": f"{lv:g}",
                "treated": r["treated"],
                "dlt_evaluable": r["dlt_evaluable"],
                "dlts": r["dlts"],
                "decision": r["decision"],
                "decision_rule": got["decision_rule"] if got else "not_tested",
                "is_mtd": mtd_rule == lv,
            }
        )
    return esc_rows, mtd_rule


def _write_truth(
    truth_dir: Path,
    truths: list[dict],
    esc_rows: list[dict],
    errors: list[dict],
    safety: dict[str, list[dict]],
    study: dict,
) -> None:
    """Write the truth folder: subjects.csv, dose_escalation.csv, errors.csv,
    disposition.csv, medical_history.csv, concomitant_medications.csv (the supportive care),
    bsa.csv and study.json."""
    write_csv(truth_dir / "subjects.csv", SUBJECT_COLUMNS, truths)
    write_csv(truth_dir / "dose_escalation.csv", ESCALATION_COLUMNS, esc_rows)
    write_csv(truth_dir / "errors.csv", ERROR_COLUMNS, errors)
    write_csv(truth_dir / "disposition.csv", DISPOSITION_TRUTH_COLUMNS, safety["disposition"])
    write_csv(truth_dir / "medical_history.csv", MH_TRUTH_COLUMNS, safety["medical_history"])
    write_csv(
        truth_dir / "concomitant_medications.csv",
        CM_TRUTH_COLUMNS,
        safety["concomitant_medications"],
    )
    write_csv(truth_dir / "bsa.csv", BSA_TRUTH_COLUMNS, safety["bsa"])
    write_study(truth_dir / "study.json", study)


def _study(
    cfg: P.SimConfig,
    plan: TrialPlan,
    ids: list[str],
    truths: list[dict],
    n_enrolled: int,
    mtd: float | None,
    mtd_rule: float | None,
) -> dict:
    """study.json: the run's arguments, MTD, cutoff, deliveries, counts, conventions, and
    which subjects carry each scenario (armcd-mismatch: every enrolled subject whose DM.ARMCD
    disagrees with its group)."""
    esc = plan.escalation
    return {
        "studyid": P.STUDYID,
        "seed": cfg.seed,
        "args": cfg.as_dict(),
        "mtd": mtd,
        "mtd_established": mtd is not None,
        "expansion_doselvl": cfg.dose_levels[esc.expansion_level],
        "data_cutoff": date.fromordinal(plan.cutoff).isoformat(),
        "deliveries": ids,
        "enrolled": n_enrolled,
        "screen_failures": len(plan.subjects) - n_enrolled,
        "vendor_lbtestcd_aliases": P.VENDOR_ALIASES,
        "held_dose_convention": "EX row with EXDOSE 0 and EXADJ 'HELD - ADVERSE EVENT' or 'HELD - OTHER'",
        "mtd_by_rule": mtd_rule,
        "scenario_subjects": {
            name: sorted(
                t["usubjid"]
                for t in truths
                if (
                    t.get("scenario") == name
                    or (
                        name == "armcd-mismatch"
                        and not t["is_screen_failure"]
                        and t["armcd"] != t["group"]
                    )
                )
            )
            for name in SCENARIOS
        },
    }

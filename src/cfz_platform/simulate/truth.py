"""The ground-truth folder (NOT a feed): subjects.csv, dose_escalation.csv, study.json, errors.csv.

subjects.csv, one row per subject (screen failures included, is_screen_failure=true):
* group: A/B derived from the regimen (A = non-IMiD, the synopsis arm list); armcd is what
  DM says (a few disagree on purpose); failed_criteria: ";"-separated E1..E6;
* baseline_b2m (mg/L), baseline_albumin (g/dL), baseline_iss: from the C1D1 values sent;
* m0 (g/dL), u0 (mg/24h), flc_excess0 (mg/dL), f, d, g (per day), h: kinetic parameters;
* responder_prob: logistic probability of the latent responder phenotype (covariates);
  true_response_prob: P(early_label = 1 | baseline covariates), Monte Carlo over the
  responder draw, kinetics and assay noise; true_response_prob_latent: the same given the
  subject's actual kinetic parameters (only assay noise left);
* early_label(_mr, _vgpr): IMWG confirmed best response using assessments dated on or
  before the end of cycle 4 (C4D1 + 27 days) is >= PR (>= MR, >= VGPR);
* true_best_response: confirmed best response (rules in ``response.py``) on the values sent
  (after corrections, before other mess); best_unconfirmed_response: best single assessment;
* is_dlt / dlt_evaluable: escalation cohort only. is_dlt applies domain.md 5 to the AEs as sent
  (``truth_rules.compute_dlt``; dlt_rules names the rule(s) met); evaluable = all six cycle-1
  carfilzomib doses given, or a DLT; cycle1_doses_given: carfilzomib doses given in cycle 1;
  cycle1_dlt_event: a DLT-type cycle-1 event in either cohort;
* first_dose_date: first dose actually given of any study drug (a held carfilzomib C1D1 does
  not move it);
* pd_date: confirmed PD (first of the two; imaging PD needs none); pd_rule: the rule that made
  that assessment PD (e.g. "serum M rise >= 1.0 g/dL from a nadir >= 5 g/dL (below 25%)");
* ttp_days/ttp_event: AVAL = ADT - STARTDT + 1 from the first study dose to PD; else censored
  at the last evaluable (non-NE) assessment dated before new anti-myeloma therapy, or at the
  first dose (AVAL 1) when there is none; death without PD is censored the same way;
  mpfs_days/mpfs_event: from the first maintenance dose to PD or death, else censored as TTP;
  pfs_days/pfs_event: from the first dose to PD or death from any cause before new therapy,
  else censored as TTP; os_event: a death; os_days: days to it (empty when censored: the last
  date known alive depends on every record sent);
* death_cause: PROGRESSIVE DISEASE or ADVERSE EVENT;
* new_therapy_date: start of a new anti-myeloma regimen (CM, CMCAT SUBSEQUENT MYELOMA THERAPY);
  every assessment dated on or after it is ignored (confirmation, PD, best response, TTP);
* withdrawal_ae_date: onset of the AE that ended treatment (stop_reason TOX; AEACN DRUG
  WITHDRAWN; the DS end of treatment, ADVERSE EVENT, is dated on or after it);
* e1..e7: met / not_met / not_evaluable by ``truth_rules.compute_eligibility`` (partial dates:
  not evaluable when the outcome depends on the missing part); is_eligible: all seven met;
  criteria_not_met: the others; failed_criteria: what the plan planted (screen failures and
  waivers); saffl: any study drug given; respevalfl: eligible, treated and measurable at
  baseline (domain.md 4 "Populations");
* early_label(_mr, _vgpr): confirmed best response >= PR (MR, VGPR) where the response and its
  confirming assessment are both dated on or before label_cutoff_date = end of cycle 4 (C4D1
  + 27 days; first dose + 111 days when cycle 4 never started);
* scenario: the real-trial shape planted on the subject (simulate/scenarios.py), '' for none.

dose_escalation.csv, one row per dose level: the 3+3 play (treated, dlt_evaluable, dlts,
decision: escalate / exceeds_mtd / mtd / top_dose_safe / not_tested) and, from the subjects'
truth by the written rule, decision_rule (escalate, expand_to_6, above_mtd, enrolling,
not_tested) and is_mtd (highest level with <= 1 DLT among >= 6 evaluable whose next level up is
above the MTD). study.json: mtd (the play), mtd_by_rule, scenario_subjects.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

SUBJECT_COLUMNS = (
    "usubjid",
    "siteid",
    "armcd",
    "group",
    "imid_regimen",
    "index_regimen",
    "index_grpid",
    "doselvl",
    "cohort",
    "is_screen_failure",
    "failed_criteria",
    "disease_type",
    "flc_chain",
    "baseline_b2m",
    "baseline_albumin",
    "baseline_iss",
    "baseline_serum_m",
    "baseline_urine_m",
    "ecog_baseline",
    "m0",
    "u0",
    "flc_excess0",
    "f",
    "d",
    "g",
    "h",
    "responder",
    "responder_prob",
    "true_response_prob",
    "true_response_prob_latent",
    "early_label",
    "early_label_mr",
    "early_label_vgpr",
    "true_best_response",
    "best_unconfirmed_response",
    "n_assessments",
    "assessment_categories",
    "is_dlt",
    "dlt_evaluable",
    "cycle1_doses_given",
    "cycle1_dlt_event",
    "first_dose_date",
    "last_dose_date",
    "pd_date",
    "pd_source",
    "death_date",
    "death_cause",
    "ttp_days",
    "ttp_event",
    "entered_maintenance",
    "maint_start_date",
    "mpfs_days",
    "mpfs_event",
    "pfs_days",
    "pfs_event",
    "os_days",
    "os_event",
    "stop_reason",
    "cycles_started",
    "new_therapy_date",
    "withdrawal_ae_date",
    "scenario",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "e6",
    "e7",
    "is_eligible",
    "criteria_not_met",
    "saffl",
    "respevalfl",
    "dlt_rules",
    "label_cutoff_date",
    "pd_rule",
)
ERROR_COLUMNS = (
    "error_id",
    "kind",
    "category",
    "delivery_id",
    "file",
    "line",
    "column",
    "value",
    "usubjid",
    "description",
)
ESCALATION_COLUMNS = (
    "doselvl",
    "treated",
    "dlt_evaluable",
    "dlts",
    "decision",
    "decision_rule",
    "is_mtd",
)


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def write_csv(path: Path, columns: tuple[str, ...], rows) -> None:
    """Write dict rows with a fixed column order (missing keys are empty)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([_fmt(r.get(c)) for c in columns])


def write_study(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")

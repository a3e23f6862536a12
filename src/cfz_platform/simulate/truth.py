"""The ground-truth folder (NOT a feed): subjects.csv, dose_escalation.csv, study.json, errors.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

SUBJECT_COLUMNS = (
    "usubjid", "siteid", "armcd", "group", "imid_regimen", "index_regimen", "index_grpid", "doselvl", "cohort",
    "is_screen_failure", "failed_criteria", "disease_type", "flc_chain", "baseline_b2m", "baseline_albumin",
    "baseline_iss", "baseline_serum_m", "baseline_urine_m", "ecog_baseline", "m0", "u0", "flc_excess0", "f", "d",
    "g", "h", "responder", "responder_prob", "true_response_prob", "true_response_prob_latent", "early_label",
    "early_label_mr", "early_label_vgpr", "true_best_response", "best_unconfirmed_response", "n_assessments",
    "assessment_categories", "is_dlt", "dlt_evaluable", "cycle1_dlt_event", "first_dose_date", "last_dose_date",
    "pd_date", "pd_source", "death_date", "death_cause", "ttp_days", "ttp_event", "entered_maintenance",
    "maint_start_date", "mpfs_days", "mpfs_event", "stop_reason", "cycles_started",
)
ERROR_COLUMNS = ("error_id", "kind", "category", "delivery_id", "file", "line", "column", "value", "usubjid",
                 "description")
ESCALATION_COLUMNS = ("doselvl", "treated", "dlt_evaluable", "dlts", "decision")


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

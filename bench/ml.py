"""Bench: the early-response model against the simulator's oracle.

Usage: ``CFZ_WAREHOUSE_DB=bench_ml .venv/bin/python bench/ml.py [--patients 2000] [--skip-build]``

Steps:
1. simulate a trial of N subjects (default 2,000) into ``out/bench_ml/landing`` (truth beside it);
2. ingest it and build the marts with dbt (seed + run of ``+fct_ml_features``) in the
   warehouse named by CFZ_WAREHOUSE_DB;
3. split the labelled subjects 70/30 (stratified, fixed seed); fit the champion
   configuration (the spec's primary pipeline) on the 70%, score the 30%;
4. oracle AUC: the simulator's ``true_response_prob`` against the same held-out labels;
   print both AUCs and their ratio (target >= 0.9), plus the comparator's held-out AUC;
5. also report the repeated-CV AUC with its intervals on the default 45-subject trial
   (``--trial45``, a separate warehouse ``<db>_45``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cfz_platform.config import apply_runtime_env  # noqa: E402

apply_runtime_env()

from cfz_platform.db import warehouse  # noqa: E402
from cfz_platform.ml.features import load_features, training_frame  # noqa: E402
from cfz_platform.ml.spec import load_spec  # noqa: E402
from cfz_platform.ml.train import candidate_pipelines  # noqa: E402


def build_chain(patients: int, out: Path) -> Path:
    from cfz_platform.ingest.run import run_ingest
    from cfz_platform.simulate import params as P
    from cfz_platform.simulate.trial import run_simulation
    from cfz_platform.transform.dbt_runner import run_dbt

    warehouse.ensure_warehouse()
    t0 = time.perf_counter()
    run_simulation(P.SimConfig(patients=patients), out / "landing")
    print(f"simulated {patients} subjects in {time.perf_counter() - t0:.0f} s", flush=True)
    run_ingest(out / "landing")
    print(f"ingested in {time.perf_counter() - t0:.0f} s", flush=True)
    run_dbt(["seed"], gated_build=True)  # the bench's own warehouse
    run_dbt(["run", "--select", "+fct_ml_features"], gated_build=True)
    print(f"dbt built in {time.perf_counter() - t0:.0f} s", flush=True)
    return out / "truth"


def held_out(truth_dir: Path) -> None:
    spec = load_spec()
    with warehouse.connect() as conn:
        frame = load_features(conn, spec)
    truth = pd.read_csv(truth_dir / "subjects.csv")[
        ["usubjid", "true_response_prob", "true_response_prob_latent", "early_label"]
    ]
    frame = frame.merge(truth, on="usubjid", how="left")
    X, y = training_frame(frame, spec)
    oracle_p = frame.loc[X.index, "true_response_prob"].to_numpy()
    X_tr, X_te, y_tr, y_te, _, o_te = train_test_split(
        X, y, oracle_p, test_size=0.3, stratify=y, random_state=int(spec.cv["seed"])
    )
    pipes = candidate_pipelines(spec)
    champ = clone(pipes["primary"]).fit(X_tr, y_tr)
    comp = clone(pipes["comparator"]).fit(X_tr, y_tr)
    auc = roc_auc_score(y_te, champ.predict_proba(X_te)[:, 1])
    auc_comp = roc_auc_score(y_te, comp.predict_proba(X_te)[:, 1])
    auc_oracle = roc_auc_score(y_te, o_te)
    agree = (frame["label_pr"].astype(float) == frame["early_label"]).mean()
    print(
        f"subjects with features: {len(frame)}; labelled {len(X)} ({int(y.sum())} responders); "
        f"held-out {len(y_te)}"
    )
    print(f"mart label_pr agrees with truth early_label for {agree:.1%} of subjects")
    print(f"held-out AUC, champion (logistic):   {auc:.3f}")
    print(f"held-out AUC, comparator (boosting): {auc_comp:.3f}")
    print(f"held-out AUC, oracle true_response_prob: {auc_oracle:.3f}")
    print(f"ratio champion / oracle: {auc / auc_oracle:.3f} (target >= 0.9)")
    latent = frame.loc[X_te.index, "true_response_prob_latent"]
    if latent.notna().all():
        print(
            f"(for reference) held-out AUC of truth true_response_prob_latent: {roc_auc_score(y_te, latent):.3f}"
        )


def trial45(base_db: str, out: Path) -> None:
    from cfz_platform.ml.evaluation import cross_validate

    os.environ["CFZ_WAREHOUSE_DB"] = f"{base_db}_45"
    build_chain(45, out)
    spec = load_spec()
    with warehouse.connect() as conn:
        frame = load_features(conn, spec)
    X, y = training_frame(frame, spec)
    for name, pipe in candidate_pipelines(spec).items():
        r = cross_validate(
            pipe,
            X,
            y,
            n_splits=int(spec.cv["n_splits"]),
            n_repeats=int(spec.cv["n_repeats"]),
            seed=int(spec.cv["seed"]),
            n_boot=int(spec.cv["bootstrap"]),
        )
        print(
            f"45-subject trial, {name:13s}: CV AUC {r.auc:.3f} (bootstrap 95% CI {r.auc_ci_low:.3f}-"
            f"{r.auc_ci_high:.3f}; CV spread {r.auc_cv_low:.3f}-{r.auc_cv_high:.3f}); Brier {r.brier:.3f}; "
            f"calibration slope {r.calibration_slope:.2f}, intercept {r.calibration_intercept:.2f}; "
            f"n = {r.n} ({r.n_positive} responders)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--skip-build", action="store_true", help="reuse the warehouse already built")
    ap.add_argument(
        "--trial45", action="store_true", help="also report CV on the default 45-subject trial"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench_ml")
    args = ap.parse_args()
    base_db = os.environ.setdefault("CFZ_WAREHOUSE_DB", "bench_ml")
    out = args.out / f"n{args.patients}"
    truth = out / "truth" if args.skip_build else build_chain(args.patients, out)
    held_out(truth)
    if args.trial45:
        trial45(base_db, args.out / "n45")


if __name__ == "__main__":
    main()

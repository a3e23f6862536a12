"""A simulated trial's marts and model against its truth (``python -m cfz_platform.agreement``).

Simulates a trial, runs the whole chain (ingest, raw gate, dbt build, mart gate, publish) in a
throwaway warehouse database of the project's cluster, and prints each field's agreement
(``fields``) and then the model card's primary model against the latent oracle (``model``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cfz_platform.agreement.chain import run_chain
from cfz_platform.agreement.fields import compare_with_truth, format_agreement, read_truth
from cfz_platform.agreement.model import model_against_oracle


def main(argv: list[str] | None = None) -> int:
    """Simulate a trial, run the chain in a throwaway warehouse database, print the agreement."""
    ap = argparse.ArgumentParser(
        prog="python -m cfz_platform.agreement", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--seed", type=int, default=20140127)
    ap.add_argument("--patients", type=int, default=45)
    ap.add_argument("--scenarios", default="default")
    ap.add_argument(
        "--keep", action="store_true", help="keep the warehouse database (its name is printed)"
    )
    args = ap.parse_args(argv)
    from cfz_platform.config import apply_runtime_env
    from cfz_platform.db import embedded, warehouse
    from cfz_platform.simulate.params import SimConfig
    from cfz_platform.simulate.scenarios import parse_scenarios
    from cfz_platform.simulate.trial import run_simulation

    apply_runtime_env()
    embedded.start()
    boosted, realistic = parse_scenarios(args.scenarios)
    name = f"agree_{args.seed}_{uuid.uuid4().hex[:6]}"
    os.environ["CFZ_WAREHOUSE_DB"] = name
    warehouse.ensure_warehouse(name)
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            landing = Path(tmp) / "landing"
            run_simulation(
                SimConfig(
                    patients=args.patients,
                    seed=args.seed,
                    scenarios=boosted,
                    realistic_scenarios=realistic,
                ),
                landing,
            )
            schema, note = run_chain(landing)
            with warehouse.connect(name, autocommit=True) as conn:
                fields = compare_with_truth(conn, Path(tmp) / "truth", schema)
            subjects, _ = read_truth(Path(tmp) / "truth")
            model = model_against_oracle(schema, subjects)
        print(
            f"seed {args.seed}, {args.patients} patients, scenarios {args.scenarios}: {note.splitlines()[0]} "
            f"({time.perf_counter() - t0:.0f}s)"
        )
        print(format_agreement(fields, subjects))
        print(model)
    finally:
        if not args.keep:
            warehouse.drop_database(name)
        else:
            print(f"kept warehouse database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""dlt's side of ``bench/peers.py``: load landing CSVs into PostgreSQL by dlt's fastest route.

Runs in the bench's own virtual environment (``.cfz/bench-dlt``, made by ``bench/peers.py``
with dlt, pyarrow and the ADBC PostgreSQL driver), never in the project's: it imports nothing
of ``cfz_platform``.

Steps:
1. read each CSV with pyarrow's multithreaded reader, every column as text (the raw layer's
   rule: values land as the source wrote them);
2. group the tables by domain (the file name), concatenated with their schemas unified (a later
   delivery may add columns);
3. one ``dlt`` pipeline run of one arrow resource per domain into the dataset ``bench_dlt``,
   ``write_disposition="append"``, loader file format parquet: dlt loads parquet into PostgreSQL
   through ADBC when ``adbc-driver-postgresql`` is installed, its fastest documented route for
   this destination (arrow tables skip dlt's row-by-row normalisation);
4. print the rows loaded and the seconds of dlt's steps (its run trace) as one JSON line.

Run: ``BENCH_DLT_URL=postgresql://... .cfz/bench-dlt/bin/python bench/peers_dlt.py
PIPELINES_DIR FILE_LIST`` (``FILE_LIST``: a text file naming one CSV a line).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.csv as pacsv


def read_text_table(path: Path) -> pa.Table:
    """One CSV as an arrow table of string columns (empty fields stay empty strings)."""
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header}, strings_can_be_null=False
    )
    return pacsv.read_csv(path, convert_options=convert)


def main() -> int:
    pipelines_dir, file_list = sys.argv[1:]
    files = Path(file_list).read_text().split()
    by_domain: dict[str, list[pa.Table]] = {}
    for name in files:
        path = Path(name)
        by_domain.setdefault(path.stem.lower(), []).append(read_text_table(path))
    tables = {
        domain: pa.concat_tables(parts, promote_options="default")
        for domain, parts in by_domain.items()
    }
    pipeline = dlt.pipeline(
        pipeline_name="cfz_peers",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.postgres(credentials=os.environ["BENCH_DLT_URL"]),
        dataset_name="bench_dlt",
    )
    resources = [
        dlt.resource(table, name=domain, write_disposition="append")
        for domain, table in tables.items()
    ]
    pipeline.run(resources, loader_file_format="parquet")
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in pipeline.last_trace.steps
    }
    rows = sum(t.num_rows for t in tables.values())
    print(json.dumps({"rows": rows, "tables": len(tables), "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

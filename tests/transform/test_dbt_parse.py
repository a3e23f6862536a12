"""dbt keeps its partial parse from one nightly to the next (issue 18).

The incremental watermarks change on every build; as ``--vars`` they made dbt re-parse the
whole project each time (its parse cache is keyed on the vars). ``run_dbt`` passes them in
the environment instead, and the models read them at execution only: dbt re-parses every file
that read a changed environment variable while parsing (the seven staging models, 3-6 s).
"""

from __future__ import annotations

import os

from cfz_platform.db import warehouse
from cfz_platform.transform.dbt_runner import WATERMARK_VARS, run_dbt, watermark_env, write_profiles

BASE_VARS = {"marts_schema": "marts", "adam_schema": "adam"}


def _parse(**watermarks: int) -> str:
    """``dbt parse`` with these watermarks; return what it wrote to its log (at debug level,
    where dbt names the files partial parsing read again; the default file level is info)."""
    log = write_profiles() / "logs" / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    run_dbt(["parse", "--log-level-file", "debug"], vars={**BASE_VARS, **watermarks})
    with open(log, "rb") as fh:
        fh.seek(start)
        return fh.read().decode("utf-8", "replace")


def test_new_watermarks_keep_partial_parsing(warehouse_db):
    _parse(staging_since_file_id=3, marts_since_file_id=3)
    assert os.environ[watermark_env("marts_since_file_id")] == "3"

    second = _parse(staging_since_file_id=7, marts_since_file_id=9, raw_through_file_id=12)
    assert "Unable to do partial parsing" not in second, second[-2000:]
    assert "0 files deleted, 0 files added, 0 files changed" in second, second[-2000:]
    assert os.environ[watermark_env("staging_since_file_id")] == "7"
    assert os.environ[watermark_env("marts_since_file_id")] == "9"

    # a full build (no watermarks) must not see the previous night's watermark
    third = _parse()
    assert "Unable to do partial parsing" not in third, third[-2000:]
    assert not any(watermark_env(v) in os.environ for v in WATERMARK_VARS)
    assert "0 files deleted, 0 files added, 0 files changed" in third, third[-2000:]


def test_watermarks_still_reach_the_compiled_sql(warehouse_db):
    """Read at execution only, a watermark still bounds what the build reads from raw."""
    target = write_profiles() / "target"
    run_dbt(["compile", "-s", "stg_sdtm__vs"], vars={**BASE_VARS, "raw_through_file_id": 41})
    compiled = next(target.glob("compiled/*/models/staging/sdtm/stg_sdtm__vs.sql")).read_text()
    assert "_file_id <= 41" in compiled
    run_dbt(["compile", "-s", "stg_sdtm__vs"], vars=BASE_VARS)
    compiled = next(target.glob("compiled/*/models/staging/sdtm/stg_sdtm__vs.sql")).read_text()
    assert "_file_id <=" not in compiled  # no watermark: raw is read whole


def test_dbt_log_file_holds_debug_lines_only_under_verbose(warehouse_db):
    """dbt's own log file is at info (each node and its result) unless ``cfz --verbose`` set
    the platform's logger to DEBUG: writing every statement cost ~4% of a small build."""
    import logging

    log = write_profiles() / "logs" / "dbt.log"

    def levels_written(*options: str) -> set[str]:
        start = log.stat().st_size if log.exists() else 0
        run_dbt(["parse", *options], vars=BASE_VARS)
        with open(log, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
        return {lvl for lvl in ("[debug]", "[info ]") if lvl in text}

    assert levels_written() == {"[info ]"}
    # the caller's own choice stands, in either spelling
    assert levels_written("--log-level-file=debug") == {"[debug]", "[info ]"}
    assert levels_written("--log-level-file", "debug") == {"[debug]", "[info ]"}
    platform = logging.getLogger("cfz_platform")
    before = platform.level
    platform.setLevel(logging.DEBUG)
    try:
        assert levels_written() == {"[debug]", "[info ]"}
    finally:
        platform.setLevel(before)


def test_the_next_module_of_a_process_keeps_the_partial_parse(warehouse_db, db, request):
    """The modules a test process runs one after another get the same warehouse name
    (``tests.conftest.module_db_name``): the next module's database is dropped and created
    again, its dbt folder emptied but for the partial parse, and its first ``dbt parse`` reads
    no file again. Each module has an MLflow database of its own."""
    from tests.conftest import module_db_name, module_mlflow_db_name, scratch_warehouse

    assert warehouse_db == module_db_name(request) == f"t_{os.getpid()}"
    assert os.environ["CFZ_MLFLOW_DB"] == module_mlflow_db_name(request)
    assert "test_dbt_parse" in os.environ["CFZ_MLFLOW_DB"]
    # the embedded cluster's settings name it, and the warehouse's setup created it
    mlflow_db = warehouse.settings().mlflow_dbname
    assert mlflow_db == os.environ["CFZ_MLFLOW_DB"]
    assert db.execute("select 1 from pg_database where datname = %s", (mlflow_db,)).fetchone()

    name = module_db_name(request, "_next")
    with scratch_warehouse(name):  # one module
        _parse()
    with scratch_warehouse(name):  # the next one, in the same process
        folder = write_profiles()
        left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert left == ["profiles.yml", "target/partial_parse.msgpack"], left
        log = _parse()
    assert "Unable to do partial parsing" not in log, log[-2000:]
    assert "0 files deleted, 0 files added, 0 files changed" in log, log[-2000:]

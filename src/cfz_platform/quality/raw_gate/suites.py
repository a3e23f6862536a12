"""The raw gate's suites: one per contract domain, assembled from its rules, and their
fingerprint (which the watermark keys on)."""

from __future__ import annotations

import hashlib
import json

from cfz_platform.contract.domains import DOMAINS
from cfz_platform.quality.raw_gate.current import (
    LINEAGE,
    batch_query,
    current_query,
    natural_key_columns,
)
from cfz_platform.quality.raw_gate.date_rules import date_checks
from cfz_platform.quality.raw_gate.key_rules import duplicate_check, orphan_check
from cfz_platform.quality.raw_gate.required_rules import required_checks
from cfz_platform.quality.raw_gate.result_rules import result_checks
from cfz_platform.quality.specs import AssetSpec, SuiteSpec


def domain_suite(domain: str) -> SuiteSpec:
    """The raw-gate suite of one contract domain.

    Steps: the required-column rules; the result rules (LB, RS); the date rules; the
    repeated-key rule; subjects known to DM (all but DM); the asset over the domain's batch,
    keyed by its natural key and lineage.
    """
    contract = DOMAINS[domain]
    checks = required_checks(domain, contract)
    checks += result_checks(domain)
    checks += date_checks(domain)
    checks.append(duplicate_check(domain, contract))
    if domain != "dm":
        checks.append(orphan_check(domain))
    key_columns = tuple(dict.fromkeys([*natural_key_columns(contract), *LINEAGE]))
    asset = AssetSpec(
        name=domain, query=batch_query(domain), table=f"raw.{domain}", key_columns=key_columns
    )
    return SuiteSpec(gate="raw", asset=asset, checks=tuple(checks))


def raw_gate_suites() -> list[SuiteSpec]:
    """One suite per contract domain, in a stable order."""
    return [domain_suite(d) for d in sorted(DOMAINS)]


def suites_fingerprint(suites: list[SuiteSpec] | None = None) -> str:
    """md5 of every raw-gate check (kind, arguments, severity) and the current-record rule."""
    payload = [
        [
            s.name,
            current_query(s.asset.name),
            [[c.key, c.expectation, c.kwargs, c.severity] for c in s.checks],
        ]
        for s in (suites if suites is not None else raw_gate_suites())
    ]
    return hashlib.md5(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

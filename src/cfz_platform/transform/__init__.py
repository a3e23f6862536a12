"""Raw layer to marts: dbt invocation, publishing and endpoint statistics."""

{#- GENERATED from src/cfz_platform/contract/domains.py by
    `uv run python -m cfz_platform.contract.dbt_macros`: do not edit by hand. -#}

{% macro key_qualifier_suffixes() -%}
  {{ return(["tptnum", "tpt", "pos", "loc", "spec", "seq"]) }}
{%- endmacro %}

{% macro sdtm_key_cols(domain) -%}
  {{ return({"dm": ["btrim(usubjid)"], "lb": ["btrim(usubjid)", "upper(btrim(lbtestcd))", "upper(coalesce(btrim(lbspec), ''))", "btrim(lbdtc)"], "ex": ["btrim(usubjid)", "upper(btrim(extrt))", "btrim(exstdtc)"], "cm": ["btrim(usubjid)", "upper(btrim(cmtrt))", "btrim(cmstdtc)"], "ae": ["btrim(usubjid)", "btrim(aespid)"], "rs": ["btrim(usubjid)", "upper(btrim(rstestcd))", "btrim(rsdtc)", "coalesce(btrim(rslnkgrp), '')"], "vs": ["btrim(usubjid)", "upper(btrim(vstestcd))", "btrim(vsdtc)"], "ds": ["btrim(usubjid)", "upper(coalesce(btrim(dscat), ''))", "upper(coalesce(btrim(dsscat), ''))"], "mh": ["btrim(usubjid)", "upper(btrim(mhterm))", "btrim(mhstdtc)"]}[domain]) }}
{%- endmacro %}

{% macro sdtm_key_exclude_qualifiers(domain) -%}
  {{ return({"dm": [], "lb": ["lbspec"], "ex": [], "cm": [], "ae": [], "rs": [], "vs": [], "ds": [], "mh": []}[domain]) }}
{%- endmacro %}

{% macro sdtm_issue_domains() -%}
  {{ return([["DM", "stg_sdtm__dm", "usubjid"], ["LB", "stg_sdtm__lb", "concat_ws('|', usubjid, lbtestcd_source, lbspec_source, lbdtc)"], ["EX", "stg_sdtm__ex", "concat_ws('|', usubjid, extrt, exstdtc)"], ["CM", "stg_sdtm__cm", "concat_ws('|', usubjid, cmtrt, cmstdtc)"], ["AE", "stg_sdtm__ae", "concat_ws('|', usubjid, aespid)"], ["RS", "stg_sdtm__rs", "concat_ws('|', usubjid, rstestcd, rsdtc, rslnkgrp)"], ["VS", "stg_sdtm__vs", "concat_ws('|', usubjid, vstestcd, vsdtc)"], ["DS", "stg_sdtm__ds", "concat_ws('|', usubjid, dscat, dsscat)"], ["MH", "stg_sdtm__mh", "concat_ws('|', usubjid, mhterm, mhstdtc)"]]) }}
{%- endmacro %}

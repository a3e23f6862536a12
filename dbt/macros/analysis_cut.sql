{#-
  Analysis data cuts (domain.md "Analysis data cuts"; cfz_platform.transform.cut).

  `cfz cut create` builds the project on the `cut` target with two vars:
    cut_cutoff            the clinical cutoff date (YYYY-MM-DD);
    cut_through_delivery  the last delivery id the cut reads (deliveries sort in time order).
  Without them (every other build) nothing here changes a row: the live build reads raw whole.

  What a cut reads of raw.<domain> (raw_rows):
    1. only rows of deliveries up to cut_through_delivery (below_raw_watermark);
    2. a record dated after the cutoff is left out: its record date's earliest possible day
       (a partial date's first day) is after the cutoff (an unparseable date stays, staging
       flags it);
    3. an end date (or a death, a new-therapy start) whose earliest possible day is after
       the cutoff becomes empty: the AE or drug is ongoing at the cutoff, the subject alive,
       the date unknown yet; a death flag goes with its date.
-#}

{#- The cut's cutoff date as a SQL literal, or none outside a cut. -#}
{% macro cut_cutoff_literal() -%}
  {%- set cutoff = var('cut_cutoff', none) -%}
  {%- if cutoff is none or cutoff == '' -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return("date '" ~ modules.datetime.date.fromisoformat(cutoff | string).isoformat() ~ "'") }}
{%- endmacro %}

{#- ADSL.DCUTDT: the cut's cutoff date; null in the live build (no cutoff applied). -#}
{% macro cut_cutoff_date() -%}
  {%- set lit = cut_cutoff_literal() -%}
  {{ lit if lit is not none else 'null::date' }}
{%- endmacro %}

{#- Condition keeping only the deliveries a cut reads (``true`` outside a cut). -#}
{% macro within_cut_deliveries(alias=none) -%}
  {%- set through = var('cut_through_delivery', none) -%}
  {%- if through is none or through == '' -%}
    true
  {%- else -%}
    {{ alias ~ '.' if alias else '' }}_delivery_id <= '{{ through | replace("'", "''") }}'
  {%- endif -%}
{%- endmacro %}

{#- Per domain: the record's date column, and the date columns emptied after the cutoff
    (with a flag column emptied along with the date, or none). -#}
{% macro cut_date_rules(domain) -%}
  {{ return({
      'ae': {'record': 'aestdtc', 'ends': [('aeendtc', none)]},
      'cm': {'record': 'cmstdtc', 'ends': [('cmendtc', none)]},
      'ex': {'record': 'exstdtc', 'ends': [('exendtc', none)]},
      'lb': {'record': 'lbdtc', 'ends': []},
      'rs': {'record': 'rsdtc', 'ends': [('nactdt', none)]},
      'vs': {'record': 'vsdtc', 'ends': []},
      'dm': {'record': none, 'ends': [('rfstdtc', none), ('rfendtc', none), ('rfxstdtc', none),
                                      ('rfxendtc', none), ('dthdtc', 'dthfl')]},
  }.get(domain, {'record': none, 'ends': []})) }}
{%- endmacro %}

{#- The names (lower case) of raw.<domain>'s columns (empty at parse time). -#}
{% macro raw_column_names(domain) -%}
  {%- set names = [] -%}
  {%- if execute -%}
    {%- for col in adapter.get_columns_in_relation(source('raw', domain)) -%}
      {%- do names.append(col.name | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(names) }}
{%- endmacro %}

{#- True (SQL) when a possibly partial ISO date's earliest possible day is after the cutoff. -#}
{% macro after_cutoff(col, cutoff) -%}
  coalesce({{ iso_date(col, impute='first') }} > {{ cutoff }}, false)
{%- endmacro %}

{#-
  raw.<domain> as the cut sees it (steps 2 and 3 above), from the rows ``where`` keeps.
  Outside a cut: plain ``select *``. In a cut the row is rebuilt with its end dates emptied
  (jsonb_populate_record keeps every column, lineage included, with its type).
-#}
{% macro cut_rows(domain, where) -%}
  {%- set raw = source('raw', domain) -%}
  {%- set cutoff = cut_cutoff_literal() -%}
  {%- if cutoff is none -%}
    select * from {{ raw }} where {{ where }}
  {%- else -%}
    {%- set rules = cut_date_rules(domain) -%}
    {%- set names = raw_column_names(domain) -%}
    {%- set ends = [] -%}
    {%- for col, flag in rules['ends'] if col in names -%}
      {%- do ends.append((col, flag if flag in names else none)) -%}
    {%- endfor %}
    select (jsonb_populate_record(null::{{ raw }}, to_jsonb(r)
        {%- for col, flag in ends %}
        || case when {{ after_cutoff('r.' ~ col, cutoff) }}
                then jsonb_build_object('{{ col }}', null{{ ", '" ~ flag ~ "', null" if flag }}) else '{}'::jsonb end
        {%- endfor %})).*
    from {{ raw }} as r
    where {{ where }}
    {%- if rules['record'] and rules['record'] in names %}
      and not {{ after_cutoff('r.' ~ rules['record'], cutoff) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

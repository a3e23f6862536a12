{#-
  ctcae_signif(x, digits): R's signif(x, digits) in PostgreSQL, as admiral applies it before
  every CTCAE comparison (signif_dig = 8 by default, dbt var `ctcae_signif_digits`).

  Steps:
  1. cast x to numeric (exact decimal arithmetic from here on);
  2. null and zero are returned unchanged;
  3. otherwise round to (digits - 1 - floor(log10|x|)) decimal places, so that `digits`
     significant digits remain (a negative scale rounds to tens, hundreds, ...). The exponent
     is taken in float8 (numeric log is ~50x slower); it can only be off next to an exact
     power of ten, where both candidate scales give the same rounded value.
  PostgreSQL rounds halves away from zero; R rounds the binary double, so the two can differ
  only on a value that is exactly half a unit in the 9th significant digit.
-#}
{% macro ctcae_signif(x, digits=none) -%}
  {%- set d = digits if digits is not none else var('ctcae_signif_digits', 8) -%}
  (case
     when ({{ x }}) is null or ({{ x }})::numeric = 0 then ({{ x }})::numeric
     else round(({{ x }})::numeric, ({{ d }} - 1 - floor(log(abs(({{ x }})::float8))))::integer)
   end)
{%- endmacro %}

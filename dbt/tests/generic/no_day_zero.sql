{#-
  A CDISC study day column: day 1 is the first study dose, the day before it is -1; there is
  no day 0 (macro adam_study_day). Fails on every row holding 0.
-#}
{% test no_day_zero(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} = 0

{% endtest %}

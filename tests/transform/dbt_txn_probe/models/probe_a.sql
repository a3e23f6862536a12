select current_setting('statement_timeout') as statement_timeout

"""The feed contract of ../shared/feeds.md as data: the SDTM domain registry (``domains``)."""

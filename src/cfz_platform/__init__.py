"""cfz-platform: data platform for the carfilzomib myeloma trial."""

"""Python client of the edgebench evaluation service (docs/http-api.md, docs/python.md)."""

from .client import ApiError, Client, Job, Task, results_table

__all__ = ["ApiError", "Client", "Job", "Task", "results_table"]


"""Sync to async: a caller waits a while for a workflow, then asks for its result by email."""

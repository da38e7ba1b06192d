"""Sagas: a trip booking workflow with compensations."""

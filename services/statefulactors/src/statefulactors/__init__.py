"""Stateful actors: a state machine as a virtual object."""

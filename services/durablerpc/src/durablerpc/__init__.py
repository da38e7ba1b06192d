"""Durable RPC: idempotent calls to a virtual object."""

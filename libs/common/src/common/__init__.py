"""Shared building blocks of the pattern services.

Services import from here; nothing here imports a service. See the modules for the pieces:
``settings`` (configuration), ``logs`` (logging), ``handlers`` (strict input), ``serving``
(Hypercorn + Restate), ``pattern`` (what a service member exports), ``calls`` (calling other
services by name), ``fakes`` (external systems with a ledger), ``ingress`` (HTTP clients of the
Restate server), ``infra`` (server processes), ``testing`` (the pytest plugin).
"""

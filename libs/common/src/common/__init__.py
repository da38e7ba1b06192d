"""The runtime every pattern service imports; imported, never run, and free of tooling.

``settings`` (configuration), ``logs`` (logging), ``handlers`` and ``strictjson`` (input that is
refused before the first durable step), ``codec`` (how bodies are written), ``serving``
(Hypercorn + Restate), ``pattern`` and ``cli`` (what a member exports; ``serve`` and ``client``),
``calls`` (calling other services by name), ``events`` (Kafka handlers and dead letters),
``faults`` and ``fakes`` (external systems with failure injection and a ledger), ``ingress``
(HTTP clients of the Restate server), ``models`` (shared wire models). The tooling (local stack,
test harness, installers, containers, benchmark) is the ``toolkit`` library beside this one.
"""

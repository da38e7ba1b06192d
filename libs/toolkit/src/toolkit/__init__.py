"""The tooling of the catalogue, apart from the runtime that services import (``common``).

- ``stack``: ``uv run patterns up`` (and ``install``, ``restate``, ``bench``);
- ``testing``: the pytest plugin and the harness that runs real servers for the tests;
- ``infra``: installing and running the Restate server and Kafka, signing keys, free ports,
  process control, and the container helpers (buildah, podman-compose, stand-in images);
- ``bench``, ``producer``, ``register`` (the compose registration job), ``waiting``.

Services take it as a dev dependency only; their images hold none of it.
"""

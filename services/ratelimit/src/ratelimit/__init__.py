"""A durable token-bucket rate limiter on Restate: the ``Limiter`` object and a client library."""

"""Processes the project runs for real: the Restate server, Kafka, the services.

One code path for the local stack (``patterns up``) and the test fixtures.
"""

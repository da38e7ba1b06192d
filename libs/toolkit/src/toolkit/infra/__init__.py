"""Processes the project runs for real: the Restate server, Kafka, the services, containers.

One code path for the local stack (``patterns up``), the test harness and the benchmark.
"""

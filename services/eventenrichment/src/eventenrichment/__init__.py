"""Event enrichment and joins: ``PackageTracker`` joins registrations with a Kafka stream."""

"""Transactional event processing: a Kafka topic of social-media posts drives ``UserFeed``."""

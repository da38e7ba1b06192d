"""Webhook callbacks: Stripe events routed to durable handlers."""

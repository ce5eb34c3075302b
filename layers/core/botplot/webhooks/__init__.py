"""Webhook delivery: fan-out of events to subscriptions, signed attempts, retries with backoff."""

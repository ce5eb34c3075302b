"""Outbound HTTP to customers' hosts (crawler, webhooks), behind one SSRF guard."""

"""Domain services: what the API does, independent of HTTP."""

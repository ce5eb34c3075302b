"""Answer generation: an OpenAI-compatible model when configured, an extractive responder otherwise."""

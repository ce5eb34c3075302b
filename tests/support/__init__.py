"""Test helpers: servers the tests start on 127.0.0.1 (local stack, moto, fakes) and clients."""

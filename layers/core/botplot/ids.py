"""Identifiers: time-ordered UUIDs for records, random high-entropy API keys and secrets.

Records use UUIDv7 (RFC 9562): they are UUIDs as the reference shows, and sort by creation time,
so a DynamoDB range key on the id lists newest-first without a separate timestamp index.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A UUIDv7 string, monotonic within this process (RFC 9562 §6.2 method 1: a 12-bit counter)."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted within one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave headroom to count up
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


KEY_RANDOM_CHARS = 40


def new_api_key(kind: str) -> str:
    """``pk_``/``sk_`` and 40 URL-safe random characters (240 bits)."""
    prefix = {"public": "pk_", "secret": "sk_"}[kind]
    return prefix + secrets.token_urlsafe(30)[:KEY_RANDOM_CHARS]


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def hash_key(key: str) -> str:
    """SHA-256 of a key. Keys carry 240 random bits, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(key.encode()).hexdigest()

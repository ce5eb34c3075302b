from datetime import datetime, timezone
import uuid

from botplot import clock, ids


def test_uuid7_are_valid_version_7_uuids_sorted_by_creation():
    made = [ids.uuid7() for _ in range(5000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    parsed = uuid.UUID(made[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_api_keys_have_their_prefix_and_enough_randomness():
    public, secret = ids.new_api_key("public"), ids.new_api_key("secret")
    assert public.startswith("pk_") and secret.startswith("sk_")
    assert len(public) - 3 >= 32 and len(secret) - 3 >= 32
    assert len({ids.new_api_key("public") for _ in range(1000)}) == 1000
    assert ids.hash_key(public) != public and len(ids.hash_key(public)) == 64


def test_quota_reset_is_the_first_instant_of_next_month_utc():
    dec = datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)
    assert clock.next_month_epoch(dec) == int(datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp())
    feb = datetime(2026, 2, 15, 10, 30, tzinfo=timezone.utc)
    assert clock.next_month_epoch(feb) == int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp())


def test_times_render_as_the_reference_shows_them():
    t = datetime(2026, 2, 15, 10, 30, 0, 123456, tzinfo=timezone.utc)
    assert clock.iso(t) == "2026-02-15T10:30:00Z"
    assert clock.iso_ms(t) == "2026-02-15T10:30:00.123Z"
    assert clock.api_time(clock.iso_ms(t)) == "2026-02-15T10:30:00Z"

"""The webhook signature (reference, "Webhook signatures"): ``X-BotPlot-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes under the webhook's secret, which the reference's verifiers check."""

from __future__ import annotations

from botplot.webhooks.signing import signature
from tests.support.receivers import verify_webhook


def test_the_signature_is_hmac_sha256_of_the_body_in_hex():
    # RFC 4231, test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?")
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_the_reference_verifier_accepts_it_and_refuses_any_change():
    body = b'{"event":"lead.captured","project_id":"p","data":{"name":"J\xc3\xa9r\xc3\xb4me"}}'
    signed = signature("whsec_abc", body)
    assert verify_webhook(body, signed, "whsec_abc")
    assert not verify_webhook(body + b" ", signed, "whsec_abc")
    assert not verify_webhook(body, signed, "whsec_abd")


def test_a_non_ascii_secret_is_used_as_utf8_bytes():
    assert verify_webhook(b"{}", signature("whsec_é", b"{}"), "whsec_é")

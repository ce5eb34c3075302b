"""A source's URL is at most 2,048 characters as sent, as the document's ``maxLength`` counts it
(found by `make test-slow`'s fuzzing: a URL padded with spaces was over it, stripped under it, and
accepted)."""

import pytest

from botplot.errors import ApiError
from botplot.services import knowledge


def test_a_url_is_measured_as_sent_before_its_surrounding_spaces_are_dropped():
    exact = "https://a.test/" + "x" * (knowledge.MAX_URL_LENGTH - 15)
    assert len(exact) == knowledge.MAX_URL_LENGTH and knowledge.validate_url(exact) == exact
    with pytest.raises(ApiError) as refused:
        knowledge.validate_url("  " + exact)
    assert (refused.value.status, refused.value.code) == (400, "VALIDATION_ERROR")
    assert knowledge.validate_url("  https://a.test/x\n") == "https://a.test/x"

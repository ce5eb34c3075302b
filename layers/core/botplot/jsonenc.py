"""JSON text that JavaScript's ``JSON.stringify(JSON.parse(text))`` gives back byte for byte.

Webhook bodies are signed as sent. The reference's Node snippet verifies the signature over
``JSON.stringify(req.body)``, i.e. over a re-serialisation, so our bytes must already be in that
form: no spaces after separators, non-ASCII characters as themselves, control characters and lone
surrogates escaped as ``\\u00xx``/``\\udxxx``, and numbers written as JavaScript writes them
(``1`` not ``1.0``, ``1e-7`` not ``1e-07``, ``100000000000000000000`` not ``1e+20``).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

_SURROGATE = re.compile("[\ud800-\udfff]")


def _string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def js_number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (shortest round-trip digits)."""
    if not math.isfinite(value):
        return "null"  # what JSON.stringify writes for NaN and Infinity
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # position of the decimal point relative to the start of ``digits``
    point = len(int_part) + (int(exp) if exp else 0)
    point -= len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exponent = ("+" if e >= 0 else "-") + str(abs(e))
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return sign + head + "e" + exponent


def _encode(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        as_float = float(value)
        if as_float.is_integer() and abs(as_float) < 1e21:
            return str(int(as_float))
        return js_number(as_float)
    if isinstance(value, dict):
        return "{" + ",".join(_string(str(k)) + ":" + _encode(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value) -> str:
    return _encode(value)

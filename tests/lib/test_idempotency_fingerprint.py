"""The Idempotency-Key fingerprint: the same request whatever its JSON's key order and spacing."""

from app.lib.idempotency import fingerprint

PATH = "/v2/giftcards/programs/" + "a" * 24 + "/cards/bulk"


def test_key_order_and_spacing_do_not_matter():
    compact = b'{"count":5,"initialValue":"1.00","recipients":null}'
    spaced = b'{ "recipients": null,\n  "initialValue": "1.00", "count": 5 }'
    assert fingerprint("POST", PATH, compact) == fingerprint("POST", PATH, spaced)


def test_a_value_the_method_or_the_path_does():
    body = b'{"count": 5, "initialValue": "1.00"}'
    other_value = b'{"count": 6, "initialValue": "1.00"}'
    base = fingerprint("POST", PATH, body)
    assert fingerprint("POST", PATH, other_value) != base
    assert fingerprint("POST", PATH + "x", body) != base
    assert fingerprint("PUT", PATH, body) != base


def test_a_body_that_is_not_json_is_taken_as_it_is():
    assert fingerprint("POST", PATH, b"not json") == fingerprint("POST", PATH, b"not json")
    assert fingerprint("POST", PATH, b"not json") != fingerprint("POST", PATH, b"not json ")

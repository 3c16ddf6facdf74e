import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from app.lib.card_numbers import CardVault, generate_number, luhn_check_digit, luhn_valid


def test_known_luhn_numbers():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_check_digit("7992739871") == "3"


def test_generated_numbers_have_prefix_length_and_check_digit():
    numbers = {generate_number("627100", 19) for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(len(n) == 19 and n.startswith("627100") and luhn_valid(n) for n in numbers)


def test_vault_round_trip_is_bound_to_the_card_id():
    vault = CardVault("hash-key", base64.b64encode(os.urandom(32)).decode())
    blob = vault.encrypt("6271001234567890128", "card-a")
    assert b"6271001234567890128" not in blob
    assert vault.decrypt(blob, "card-a") == "6271001234567890128"
    with pytest.raises(InvalidTag):
        vault.decrypt(blob, "card-b")
    assert vault.fingerprint("1") == vault.fingerprint("1") != vault.fingerprint("2")
    other = CardVault("other-key", base64.b64encode(os.urandom(32)).decode())
    assert other.fingerprint("1") != vault.fingerprint("1")


def test_vault_needs_a_32_byte_key():
    with pytest.raises(ValueError):
        CardVault("k", base64.b64encode(b"short").decode())

"""Card numbers: CSPRNG digits with a Luhn check digit, a keyed hash and AES-GCM at rest.

Numbers are secrets: nothing here logs them, and callers must not either.
"""

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn's doubling of a digit, digits summed


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    digits = [ord(char) - 48 for char in reversed(partial)]
    # the positions doubled once the check digit is appended: 0, 2, 4... from the right
    total = sum(_DOUBLED[d] for d in digits[0::2]) + sum(digits[1::2])
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def generate_number(prefix: str, length: int) -> str:
    body_length = length - len(prefix) - 1
    body = str(secrets.randbelow(10**body_length)).zfill(body_length)
    partial = prefix + body
    return partial + luhn_check_digit(partial)


class CardVault:
    """Hashes numbers for uniqueness and lookup, encrypts them for the CSV and the response."""

    def __init__(self, hash_key: str, encryption_key_b64: str) -> None:
        key = base64.b64decode(encryption_key_b64)
        if len(key) != 32:
            raise ValueError("CARD_ENCRYPTION_KEY must be base64 of 32 bytes")
        self._hash_key = hash_key.encode()
        self._aead = AESGCM(key)

    def fingerprint(self, number: str) -> str:
        return hmac.new(self._hash_key, number.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, number: str, card_id: str) -> bytes:
        """Nonce + ciphertext; the card id is bound as associated data so blobs can't be swapped."""
        return self.seal(number.encode(), card_id)

    def decrypt(self, blob: bytes, card_id: str) -> str:
        return self.unseal(blob, card_id).decode()

    def seal(self, data: bytes, context: str) -> bytes:
        """Nonce + AES-GCM ciphertext of anything that holds card numbers (a stored response);
        `context` (what the blob belongs to) is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def unseal(self, blob: bytes, context: str) -> bytes:
        nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, context.encode())

"""Card numbers: CSPRNG digits with a Luhn check digit, a keyed hash and AES-GCM at rest.

Numbers are secrets: nothing here logs them, and callers must not either.
"""

import base64
import functools
import hmac
import os
import secrets
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn's doubling of a digit, digits summed
_GROUP = 10_000  # Luhn sums of 4-digit groups, looked up instead of summed digit by digit


def _luhn_sum(partial: str) -> int:
    """Luhn's sum of `partial`, its rightmost digit doubled (as once a check digit follows)."""
    digits = [ord(char) - 48 for char in reversed(partial)]
    return sum(_DOUBLED[d] for d in digits[0::2]) + sum(digits[1::2])


_GROUP_SUM = tuple(_luhn_sum(f"{group:04d}") for group in range(_GROUP))


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    return str(-_luhn_sum(partial) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


class NumberSource:
    """Numbers of one prefix and length: uniform CSPRNG digits after the prefix, then the
    Luhn digit. The prefix's part of the Luhn sum is computed once; the random digits' part
    from 4-digit groups (zeros add nothing, so the prefix's digits count as zeros there)."""

    def __init__(self, prefix: str, length: int) -> None:
        self.prefix, self.digits = prefix, length - len(prefix) - 1
        if self.digits < 1:
            raise ValueError("card number length leaves no room for random digits")
        self.limit = 10**self.digits
        self.bits = (self.limit - 1).bit_length()
        self.prefix_sum = _luhn_sum(prefix + "0" * self.digits)

    def number(self, body: int) -> str:
        """The number with random part `body` (0 <= body < limit)."""
        total, rest = self.prefix_sum, body
        while rest:
            total += _GROUP_SUM[rest % _GROUP]
            rest //= _GROUP
        return f"{self.prefix}{body:0{self.digits}d}{-total % 10}"

    def one(self) -> str:
        return self.number(secrets.randbelow(self.limit))

    def take(self, count: int) -> list[str]:
        """`count` numbers from one CSPRNG read per round: 8 random bytes per candidate,
        masked to `bits` and kept when below `limit` (rejection keeps them uniform)."""
        if self.bits > 64:
            return [self.one() for _ in range(count)]
        mask = (1 << self.bits) - 1
        numbers: list[str] = []
        while len(numbers) < count:
            need = count - len(numbers)
            draw = struct.unpack(f"<{need * 2}Q", os.urandom(need * 16))  # ≥ half are kept
            kept = [body for word in draw if (body := word & mask) < self.limit]
            numbers += [self.number(body) for body in kept[:need]]
        return numbers


@functools.lru_cache(maxsize=64)
def number_source(prefix: str, length: int) -> NumberSource:
    return NumberSource(prefix, length)


def generate_number(prefix: str, length: int) -> str:
    return number_source(prefix, length).one()


class CardVault:
    """Hashes numbers for uniqueness and lookup, encrypts them for the CSV and the response."""

    def __init__(self, hash_key: str, encryption_key_b64: str) -> None:
        key = base64.b64decode(encryption_key_b64)
        if len(key) != 32:
            raise ValueError("CARD_ENCRYPTION_KEY must be base64 of 32 bytes")
        self._hash_key = hash_key.encode()
        self._aead = AESGCM(key)

    def fingerprint(self, number: str) -> str:
        return hmac.digest(self._hash_key, number.encode(), "sha256").hex()

    def fingerprints(self, numbers: list[str]) -> list[str]:
        """`fingerprint` of each number (a batch of cards: no call per number)."""
        key = self._hash_key
        return [hmac.digest(key, number.encode(), "sha256").hex() for number in numbers]

    def encrypt_many(self, numbers: list[str], card_ids: list[str]) -> list[bytes]:
        """`encrypt` of each number under its card's id, the nonces from one CSPRNG read."""
        nonces = os.urandom(_NONCE_BYTES * len(numbers))
        seal = self._aead.encrypt
        blobs = []
        for i, (number, card_id) in enumerate(zip(numbers, card_ids, strict=True)):
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            blobs.append(nonce + seal(nonce, number.encode(), card_id.encode()))
        return blobs

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

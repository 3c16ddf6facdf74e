import csv
import io

import httpx

HEADER = ["id", "cardNumber", "lastFourDigits", "initialValue", "currency", "expiresAt"]
RECIPIENT_HEADER = HEADER + ["customerName", "customerEmail", "customerPhone"]


async def download_csv(url: str) -> list[dict]:
    """Plain GET of the presigned link: no credentials, like curl."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in body] if body else [], header


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0

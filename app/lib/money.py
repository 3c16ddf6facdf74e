"""Money as integer minor units; decimal strings at the edges, never binary floats."""

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2; every other known code uses 2.
_EXPONENTS = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}
_TWO_DIGIT = (
    "AED ARS AUD BGN BRL CAD CHF CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR MAD MXN MYR "
    "NGN NOK NZD PEN PHP PKR PLN QAR RON RSD SAR SEK SGD THB TRY TWD UAH USD ZAR"
).split()
CURRENCIES = frozenset(_TWO_DIGIT) | frozenset(_EXPONENTS)


def minor_digits(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def to_decimal(value: object) -> Decimal:
    """A JSON number or decimal string as an exact Decimal (floats go through their repr)."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("must be a decimal amount") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite decimal amount")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact minor units; more decimals than the currency allows is an error, not a rounding."""
    digits = minor_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} allows at most {digits} decimal places")
    return int(scaled)


def format_minor(minor: int, currency: str) -> str:
    digits = minor_digits(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"

from decimal import Decimal

import pytest

from app.lib.money import format_minor, to_decimal, to_minor


@pytest.mark.parametrize(
    "value, currency, minor",
    [
        ("25.00", "USD", 2500),
        (25, "USD", 2500),
        (0.1, "USD", 10),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("10000.00", "EUR", 1_000_000),
    ],
)
def test_exact_minor_units(value, currency, minor):
    assert to_minor(to_decimal(value), currency) == minor


@pytest.mark.parametrize("value, currency", [("0.001", "USD"), ("1.5", "JPY"), (0.125, "EUR")])
def test_too_many_decimals_is_an_error_not_a_rounding(value, currency):
    with pytest.raises(ValueError):
        to_minor(to_decimal(value), currency)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True])
def test_non_amounts(value):
    with pytest.raises(ValueError):
        to_decimal(value)


def test_formatting_uses_the_currency_digits():
    assert format_minor(2500, "USD") == "25.00"
    assert format_minor(5, "USD") == "0.05"
    assert format_minor(1500, "JPY") == "1500"
    assert format_minor(1234, "KWD") == "1.234"
    assert to_decimal("25.10") == Decimal("25.10")

"""Phone numbers: the one normalisation (E.164, with Google's libphonenumber data through the
`phonenumbers` library), used where a number is stored, searched for and texted.

A number typed without a country code is read as a number of the clinic's country
(`PHONE_REGION`, an ISO 3166 code such as "DE").
"""

from __future__ import annotations

import phonenumbers
from flask import current_app

MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def clinic_region() -> str:
    return str(current_app.config.get("PHONE_REGION") or "DE").upper()


def to_e164(raw: str, region: str | None = None) -> str | None:
    """`raw` as E.164 ("+4915123456789"), or None when it is not a valid phone number."""
    raw = raw.strip()
    if not raw or len(raw) > 40:
        return None
    try:
        number = phonenumbers.parse(raw, region or clinic_region())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number (from `to_e164`) can take a text message."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(number) in MOBILE_TYPES


def text_number(raw: str) -> str | None:
    """The number a text message goes to: `raw` normalised, when it is a mobile number."""
    e164 = to_e164(raw)
    return e164 if e164 is not None and is_mobile(e164) else None


def example_number(region: str | None = None) -> str:
    """A mobile number of the clinic's country as people write it, for messages."""
    example = phonenumbers.example_number_for_type(
        region or clinic_region(), phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        return "+49 1512 3456789"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

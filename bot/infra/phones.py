"""Phone numbers normalised to E.164 with Google's libphonenumber port."""

from __future__ import annotations

import phonenumbers


class PhoneNumbersNormalizer:
    def __init__(self, default_region: str = "RU") -> None:
        self._region = default_region

    def normalize(self, raw: str) -> str | None:
        text = raw.strip()
        # Telegram sends contacts without the plus sign ("79161234567"); a leading 8 is the
        # Russian trunk prefix, which the RU region parses correctly without a plus.
        if text.isdigit() and len(text) > 10 and not text.startswith("8"):
            text = "+" + text
        try:
            number = phonenumbers.parse(text, self._region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

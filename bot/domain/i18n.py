"""Languages the product speaks and localized values stored in the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_LANGUAGE = "ru"
SUPPORTED_LANGUAGES = ("ru", "en")


def pick_language(telegram_language_code: str | None) -> str:
    """Russian by default; English when the user's Telegram speaks English."""
    if telegram_language_code and telegram_language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class LocalizedText:
    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, language: str) -> str:
        return (
            self.values.get(language)
            or self.values.get(DEFAULT_LANGUAGE)
            or next(iter(self.values.values()), "")
        )

    def to_dict(self) -> dict[str, str]:
        return dict(self.values)

    @classmethod
    def of(cls, value: Mapping[str, str] | str | None) -> LocalizedText:
        if value is None:
            return cls({})
        if isinstance(value, str):
            return cls({DEFAULT_LANGUAGE: value})
        return cls(dict(value))

"""Texts: every key in Russian and English, every template valid Telegram HTML with hostile input."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime

import pytest

from bot.domain.i18n import SUPPORTED_LANGUAGES
from bot.telegram.texts import (
    MAX_MESSAGE_LENGTH,
    TEXTS,
    Markup,
    clip,
    format_date,
    format_when,
    greeting_key,
    is_button_text,
    m,
    t,
)
from telegram_emulator.errors import ApiError
from telegram_emulator.html_entities import parse_formatted_text

HOSTILE = "<b & </i> <a href='x'> &amp; &#x; \"q\""


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_has_russian_and_english_with_the_same_fields() -> None:
    for key, by_language in TEXTS.items():
        assert set(by_language) == set(SUPPORTED_LANGUAGES), key
        assert all(value.strip() for value in by_language.values()), key
        assert fields(by_language["ru"]) == fields(by_language["en"]), key


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_template_renders_valid_html_with_hostile_values(language: str, key: str) -> None:
    values = {name: HOSTILE for name in fields(TEXTS[key][language])}
    rendered = t(language, key, **values)
    parsed = parse_formatted_text(rendered, "HTML")  # raises "can't parse entities" if broken
    for _ in values:
        assert HOSTILE in parsed.text
    assert len(rendered) < MAX_MESSAGE_LENGTH


def test_the_emulator_parser_does_reject_broken_html() -> None:
    # The check above could not fail if the parser accepted anything.
    with pytest.raises(ApiError):
        parse_formatted_text("<b>unclosed " + HOSTILE, "HTML")


def test_markup_is_nested_without_escaping_twice() -> None:
    inner = m("ru", "apps.comment", text="a & b")
    outer = t(
        "ru", "notify.application", number="1", line=inner, complex="<x>", sport="s", comment=""
    )
    assert "a &amp; b" in outer
    assert "&amp;amp;" not in outer
    assert "&lt;x&gt;" in outer
    assert isinstance(inner, Markup)


def test_greetings_are_grammatical_for_every_hour() -> None:
    seen = {t("ru", greeting_key(hour)) for hour in range(24)}
    assert seen == {"Доброе утро", "Добрый день", "Добрый вечер", "Доброй ночи"}


def test_times_are_shown_in_the_complex_zone() -> None:
    moment = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert format_when(moment, "Europe/Moscow", "ru") == "пн, 23.11 07:00"
    assert format_when(moment, "Asia/Yekaterinburg", "en") == "Mon, 23.11 09:00"
    assert format_date(date(2026, 11, 29), "ru") == "вс, 29.11.2026"


def test_reply_keyboard_texts_are_recognised_in_both_languages() -> None:
    assert is_button_text(" Пропустить ", "button.skip")
    assert is_button_text("skip", "button.skip")
    assert not is_button_text("Пропустить всё", "button.skip")


def test_clip_keeps_html_valid_and_within_the_limit() -> None:
    line = t("ru", "nearest.line", index=1, name="<ФОК> & Co", distance="1.0")
    text = t("ru", "nearest.results", lines=Markup("\n".join([line] * 400)))
    clipped = clip(text)
    assert len(clipped) <= MAX_MESSAGE_LENGTH
    parse_formatted_text(clipped, "HTML")

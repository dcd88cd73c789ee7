"""Telegram's HTML parse mode: what parses, what the user sees, and the exact refusals."""

from __future__ import annotations

import pytest

from telegram_emulator.errors import ApiError
from telegram_emulator.html_entities import parse_formatted_text


def parse(text: str) -> tuple[str, list[dict[str, object]]]:
    parsed = parse_formatted_text(text, "HTML")
    return parsed.text, parsed.entities


def parse_error(text: str) -> str:
    with pytest.raises(ApiError) as caught:
        parse_formatted_text(text, "HTML")
    assert caught.value.error_code == 400
    return caught.value.description


def test_supported_tags_become_entities_with_utf16_offsets() -> None:
    text, entities = parse('😀 <b>жирный</b> <a href="https://example.org/?a=1&amp;b=2">link</a>')
    assert text == "😀 жирный link"
    assert entities == [
        {"offset": 3, "length": 6, "type": "bold"},
        {"offset": 10, "length": 4, "type": "text_link", "url": "https://example.org/?a=1&b=2"},
    ]


def test_every_documented_tag_is_accepted() -> None:
    source = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        "<code>c</code><pre>p</pre><blockquote>q</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        '<pre><code class="language-python">x = 1</code></pre>'
    )
    text, entities = parse(source)
    assert text == "bsieunskdptcpq👍x = 1"
    kinds = [entity["type"] for entity in entities]
    assert kinds.count("bold") == 2
    assert kinds.count("strikethrough") == 3
    assert "custom_emoji" in kinds
    assert kinds.count("spoiler") == 2
    assert {"offset": 16, "length": 5, "type": "pre", "language": "python"} in entities


def test_entities_and_numeric_references_decode() -> None:
    text, _ = parse("a &lt;b&gt; &amp; &quot;q&quot; &#1055;&#x440;")
    assert text == 'a <b> & "q" Пр'


def test_unknown_named_entity_stays_literal_like_telegram() -> None:
    assert parse("Tom &copy; Jerry & co")[0] == "Tom &copy; Jerry & co"


def test_nested_tags_must_close_in_order() -> None:
    assert parse("<b>x<i>y</i></b>")[0] == "xy"
    assert parse_error("<b>x<i>y</b></i>") == (
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 8, "
        'expected "</i>", found "</b>"'
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("Цена < 100", 'Unsupported start tag "" at byte offset 9'),
        ("mail <user@example.com>", 'Unsupported start tag "user@example.com" at byte offset 5'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("text</b>", "Unexpected end tag at byte offset 4"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_parse_errors_are_telegrams(source: str, message: str) -> None:
    assert parse_error(source) == f"Bad Request: can't parse entities: {message}"


def test_leading_and_trailing_whitespace_is_trimmed_with_entities() -> None:
    parsed = parse_formatted_text("  <b> hi </b>  ", "HTML")
    assert parsed.text == "hi"
    assert parsed.entities == [{"offset": 0, "length": 2, "type": "bold"}]


def test_plain_text_keeps_angle_brackets() -> None:
    assert parse_formatted_text("a < b > c", None).text == "a < b > c"


def test_other_parse_modes_are_refused_explicitly() -> None:
    with pytest.raises(ApiError):
        parse_formatted_text("*x*", "MarkdownV2")

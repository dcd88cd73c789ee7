"""Telegram's HTML parse mode: turns HTML into plain text plus message entities.

Follows the Bot API rules (and tdlib's parser, which the Bot API runs): only the documented tag
set, tags must nest properly, and error strings carry the UTF-8 byte offset of the offending tag.
Like tdlib, an `&` that does not start a known entity stays literal text; `<` never does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from telegram_emulator.errors import ApiError, bad_request

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "tg-emoji"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NUMERIC_ENTITY = re.compile(r"#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_NAMED_ENTITY = re.compile(r"([a-zA-Z]{1,8});")


@dataclass
class ParsedText:
    """Text as the user sees it plus its entities (offsets in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    byte_offset: int
    utf16_start: int
    attributes: dict[str, str]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _decode_entity(source: str, amp_index: int) -> tuple[str, int] | None:
    """Decode an HTML entity starting at `source[amp_index] == '&'`; None if it is not one."""
    rest_start = amp_index + 1
    numeric = _NUMERIC_ENTITY.match(source, rest_start)
    if numeric:
        code = int(numeric.group(1), 16) if numeric.group(1) else int(numeric.group(2))
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), numeric.end()
        return None
    named = _NAMED_ENTITY.match(source, rest_start)
    if named and named.group(1) in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[named.group(1)], named.end()
    return None


def _decode_text(source: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            decoded = _decode_entity(source, index)
            if decoded:
                out.append(decoded[0])
                index = decoded[1]
                continue
        out.append(char)
        index += 1
    return "".join(out)


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.index = 0
        self.out: list[str] = []
        self.utf16_position = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, char_index: int) -> int:
        return len(self.source[:char_index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.utf16_position += utf16_length(text)

    def at_end(self) -> bool:
        return self.index >= len(self.source)

    def skip_spaces(self) -> None:
        while not self.at_end() and self.source[self.index].isspace():
            self.index += 1

    def parse(self) -> ParsedText:
        while not self.at_end():
            char = self.source[self.index]
            if char == "&":
                decoded = _decode_entity(self.source, self.index)
                if decoded:
                    self.emit(decoded[0])
                    self.index = decoded[1]
                else:
                    self.emit("&")
                    self.index += 1
            elif char == "<":
                self.parse_tag()
            else:
                end = self.index
                while end < len(self.source) and self.source[end] not in "&<":
                    end += 1
                self.emit(self.source[self.index : end])
                self.index = end
        if self.stack:
            raise _parse_error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return ParsedText("".join(self.out), self.entities)

    def parse_tag(self) -> None:
        begin = self.index
        self.index += 1
        if self.at_end():
            raise _parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        if self.source[self.index] == "/":
            self.parse_end_tag(begin)
        else:
            self.parse_start_tag(begin)

    def read_tag_name(self) -> str:
        start = self.index
        while (
            not self.at_end()
            and not self.source[self.index].isspace()
            and self.source[self.index] not in ">/"
        ):
            self.index += 1
        return self.source[start : self.index].lower()

    def parse_start_tag(self, begin: int) -> None:
        name = self.read_tag_name()
        if name not in SUPPORTED_TAGS:
            raise _parse_error(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        attributes: dict[str, str] = {}
        while True:
            self.skip_spaces()
            if self.at_end():
                raise _parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if self.source[self.index] == ">":
                self.index += 1
                break
            attribute, value = self.parse_attribute(name, begin)
            attributes[attribute] = value
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _parse_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.stack.append(_OpenTag(name, self.byte_offset(begin), self.utf16_position, attributes))

    def parse_attribute(self, tag: str, begin: int) -> tuple[str, str]:
        name_start = self.index
        while not self.at_end() and (
            self.source[self.index].isalnum() or self.source[self.index] in "-_"
        ):
            self.index += 1
        attribute = self.source[name_start : self.index].lower()
        if not attribute:
            raise _parse_error(
                f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        self.skip_spaces()
        if self.at_end() or self.source[self.index] != "=":
            # Value-less attributes (e.g. `expandable` on blockquote) are allowed.
            if not self.at_end() and (
                self.source[self.index] == ">" or self.source[self.index].isalpha()
            ):
                return attribute, ""
            raise _parse_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {self.byte_offset(begin)}"
            )
        self.index += 1
        self.skip_spaces()
        if self.at_end():
            raise _parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        quote = self.source[self.index]
        if quote in "\"'":
            end = self.source.find(quote, self.index + 1)
            if end < 0:
                raise _parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            raw = self.source[self.index + 1 : end]
            self.index = end + 1
        else:
            start = self.index
            while not self.at_end() and (
                self.source[self.index].isalnum() or self.source[self.index] in ".-"
            ):
                self.index += 1
            raw = self.source[start : self.index]
        return attribute, _decode_text(raw)

    def parse_end_tag(self, begin: int) -> None:
        self.index += 1
        name = self.read_tag_name()
        if not self.stack:
            raise _parse_error(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        expected = self.stack[-1].name
        if name != expected:
            raise _parse_error(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{expected}>", found "</{name}>"'
            )
        self.skip_spaces()
        if self.at_end() or self.source[self.index] != ">":
            raise _parse_error(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        self.index += 1
        opened = self.stack.pop()
        self.close_entity(opened)

    def close_entity(self, opened: _OpenTag) -> None:
        length = self.utf16_position - opened.utf16_start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": opened.utf16_start, "length": length}
        if opened.name == "a":
            url = opened.attributes.get("href", "")
            if not url:
                return  # tdlib drops links without a target, keeping the text
            entity.update(type="text_link", url=url)
        elif opened.name == "span":
            entity["type"] = "spoiler"
        elif opened.name == "tg-emoji":
            emoji_id = opened.attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise _parse_error("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=emoji_id)
        elif opened.name == "blockquote" and "expandable" in opened.attributes:
            entity["type"] = "expandable_blockquote"
        elif opened.name == "code":
            language = opened.attributes.get("class", "")
            entity["type"] = "code"
            if language.startswith("language-"):
                entity["language"] = language.removeprefix("language-")
        else:
            entity["type"] = _SIMPLE_TAGS[opened.name]
        if entity["type"] == "pre":
            self.merge_code_into_pre(entity)
        self.entities.append(entity)

    def merge_code_into_pre(self, pre: dict[str, Any]) -> None:
        """`<pre><code class="language-x">` becomes one pre entity with a language, as in tdlib."""
        for inner in list(self.entities):
            if (
                inner["type"] == "code"
                and inner["offset"] == pre["offset"]
                and inner["length"] == pre["length"]
            ):
                self.entities.remove(inner)
                if "language" in inner:
                    pre["language"] = inner["language"]


def _strip_whitespace(parsed: ParsedText) -> ParsedText:
    """The Bot API trims leading and trailing whitespace, shifting entities with the text."""
    stripped_left = parsed.text.lstrip()
    left_units = utf16_length(parsed.text) - utf16_length(stripped_left)
    text = stripped_left.rstrip()
    total = utf16_length(text)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - left_units, 0)
        end = min(entity["offset"] + entity["length"] - left_units, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(text, entities)


def parse_formatted_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> ParsedText:
    """Apply `parse_mode` (only HTML or none) and return what the user will see."""
    if parse_mode is None or parse_mode == "":
        parsed = ParsedText(text, list(entities or []))
    elif parse_mode.lower() == "html":
        parsed = _HtmlParser(text).parse()
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode!r} (the emulator implements HTML)")
    return _strip_whitespace(parsed)

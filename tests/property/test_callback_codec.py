"""The callback codec: what encode emits, decode reads back; nothing else is ever accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.callbacks import MAX_BYTES, SEPARATOR, VERSION, OutdatedButton, decode, encode

tokens = st.from_regex(r"\A[a-z]{1,4}\Z")
arguments = st.from_regex(r"\A[A-Za-z0-9_:.\-]{1,20}\Z")


@given(feature=tokens, action=tokens, args=st.lists(arguments | st.integers(0, 10**12), max_size=6))
def test_what_encode_emits_decode_reads_back(
    feature: str, action: str, args: list[str | int]
) -> None:
    try:
        data = encode(feature, action, *args)
    except ValueError:
        # Refused only for being over Telegram's 64 bytes: every part was valid.
        joined = SEPARATOR.join([VERSION, feature, action, *map(str, args)])
        assert len(joined.encode()) > MAX_BYTES
        return
    assert len(data.encode("utf-8")) <= MAX_BYTES
    callback = decode(data)
    assert (callback.feature, callback.action) == (feature, action)
    assert callback.args == tuple(str(arg) for arg in args)


@given(st.text(max_size=80))
def test_any_text_decodes_to_a_callback_that_encodes_back_the_same_or_is_outdated(
    data: str,
) -> None:
    try:
        callback = decode(data)
    except OutdatedButton:
        return
    assert encode(callback.feature, callback.action, *callback.args) == data


@given(
    feature=tokens,
    action=tokens,
    bad=st.text(min_size=1, max_size=10).filter(
        lambda text: any(not (c.isascii() and (c.isalnum() or c in "_:.-")) for c in text)
    ),
)
def test_an_argument_with_other_characters_is_refused_at_encode(
    feature: str, action: str, bad: str
) -> None:
    # A separator, a space, Cyrillic, an emoji or a control character would change the parse.
    with pytest.raises(ValueError, match="characters"):
        encode(feature, action, bad)


@given(
    data=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=64).map(
        lambda text: f"{VERSION}|ap|v|{text}"
    )
)
def test_data_over_64_bytes_is_outdated_whatever_it_holds(data: str) -> None:
    # Four-byte emoji near the edge: bytes, not characters, are what Telegram limits.
    if len(data.encode("utf-8")) > MAX_BYTES:
        with pytest.raises(OutdatedButton):
            decode(data)

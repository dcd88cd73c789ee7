"""Phone normalisation: any text in, E.164 or nothing out, the same number however written."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.infra.phones import PhoneNumbersNormalizer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
normalizer = PhoneNumbersNormalizer("RU")

# Russian mobile numbers: +7 9XX XXX-XX-XX, in operators' ranges libphonenumber knows as allocated.
MOBILE_CODES = ["903", "905", "912", "916", "926", "951", "977", "985", "999"]
mobile_subscriber = st.tuples(st.sampled_from(MOBILE_CODES), st.from_regex(r"\A[0-9]{7}\Z")).map(
    "".join
)


def _writings(subscriber: str) -> st.SearchStrategy[str]:
    """The ways residents and Telegram's contact button write one Russian mobile number."""
    a, b, c, d = subscriber[:3], subscriber[3:6], subscriber[6:8], subscriber[8:]
    return st.sampled_from(
        [
            f"+7{subscriber}",
            f"7{subscriber}",  # Telegram's contact, without the plus
            f"8{subscriber}",  # the trunk prefix
            f"+7 ({a}) {b}-{c}-{d}",
            f"8 {a} {b} {c} {d}",
            f"  +7-{a}-{b}-{c}-{d}  ",
        ]
    )


@given(st.text(max_size=40))
def test_any_text_gives_e164_or_nothing_and_never_raises(raw: str) -> None:
    result = normalizer.normalize(raw)
    assert result is None or E164.match(result), result


@given(st.text(max_size=40))
def test_a_normalised_number_normalises_to_itself(raw: str) -> None:
    result = normalizer.normalize(raw)
    if result is not None:
        assert normalizer.normalize(result) == result


@given(mobile_subscriber.flatmap(lambda s: st.tuples(st.just(s), _writings(s))))
def test_every_writing_of_a_russian_mobile_number_is_the_same_number(
    case: tuple[str, str],
) -> None:
    subscriber, written = case
    assert normalizer.normalize(written) == f"+7{subscriber}"

"""Bot API parameters from JSON, urlencoded or multipart bodies, coerced like Telegram does.

Form bodies carry every value as a string (python-telegram-bot JSON-encodes nested values), so
typed getters accept both the native JSON type and its string form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from telegram_emulator.errors import ApiError, bad_request


@dataclass(frozen=True)
class UploadedFile:
    field_name: str
    file_name: str
    content_type: str
    content: bytes


@dataclass
class Params:
    values: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def optional_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise bad_request(f'field "{name}" must be of type String')
        return str(value)

    def optional_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def required_int(self, name: str, missing: str | None = None) -> int:
        value = self.optional_int(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def optional_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Float') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json_value(self, name: str) -> Any:
        """A nested object or array, given natively (JSON body) or JSON-encoded (form body)."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise bad_request("can't parse multipart/form-data body")
    values: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        file_name = part.get_filename()
        if file_name is not None:
            files[name] = UploadedFile(
                field_name=name,
                file_name=file_name,
                content_type=part.get_content_type(),
                content=content,
            )
        else:
            charset = part.get_content_charset() or "utf-8"
            values[name] = content.decode(charset, errors="replace")
    return values, files


def parse_body(content_type: str, body: bytes, query: list[tuple[str, str]]) -> Params:
    """Merge query-string and body parameters; the body wins, as with Telegram."""
    values: dict[str, Any] = dict(query)
    files: dict[str, UploadedFile] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return Params(values, files)
    if media_type == "application/json":
        try:
            decoded = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        values.update(decoded)
    elif media_type == "multipart/form-data":
        form_values, files = _parse_multipart(content_type, body)
        values.update(form_values)
    else:
        values.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return Params(values, files)

"""Input files of send methods: uploads, `attach://` parts, reused file_ids and URLs."""

from __future__ import annotations

import struct
from urllib.parse import urlsplit

from telegram_emulator.errors import ApiError, bad_request
from telegram_emulator.model import StoredFile
from telegram_emulator.params import Params
from telegram_emulator.world import World


def resolve_input_file(world: World, params: Params, field_name: str, kind: str) -> StoredFile:
    value = params.raw(field_name)
    upload = params.files.get(field_name)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = params.files.get(value.removeprefix("attach://"))
    if upload is not None:
        if not upload.content:
            raise bad_request("file must be non-empty")
        if len(upload.content) > world.config.max_upload_bytes:
            raise ApiError(413, "Request Entity Too Large")
        return world.store_file(kind, upload.file_name, upload.content_type, upload.content)
    if isinstance(value, str) and value:
        known = world.files.get(value)
        if known is not None:
            return known
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            # No machine here reaches the internet: the URL is recorded, not fetched.
            name = parts.path.rsplit("/", 1)[-1] or kind
            return world.store_file(kind, name, None, b"", url=value)
        raise bad_request("wrong file identifier/HTTP URL specified")
    raise bad_request(f"there is no {field_name} in the request")


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height of PNG, GIF or JPEG bytes; (0, 0) when unknown."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(content):
            if content[index] != 0xFF:
                break
            marker = content[index + 1]
            length = struct.unpack(">H", content[index + 2 : index + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", content[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + length
    return 0, 0

"""A crontab in a time zone of its own, kept through RedBeat.

Celery evaluates a ``crontab`` in the app's time zone (``timezone``; ours is UTC, and the nightly
backup's hour is stated in UTC), and RedBeat stores each entry's schedule in the broker as JSON,
a crontab as its five fields only: any ``nowfun`` or other zone is lost, and the entry read back at
every tick fires in UTC. ``crontab(hour=9, day_of_week=1)`` would thus send the weekly report at
09:00 UTC — 12:00 in Moscow, the original bot's mistake.

:class:`ZonedCrontab` is a crontab whose fields are read in ``zone`` (``remaining_delta`` already
normalises both instants into the schedule's ``tz`` before matching fields, so only ``tz``
changes); :class:`ZonedRedBeatEntry` stores it as ``{"__type__": "zoned_crontab", ..., "zone":
...}`` and reads it back as one. Plain crontabs and intervals are stored as RedBeat stores them.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from redbeat.decoder import RedBeatJSONDecoder, RedBeatJSONEncoder
from redbeat.schedulers import RedBeatSchedulerEntry, get_redis

ZONED_TYPE = "zoned_crontab"


class ZonedCrontab(crontab):  # type: ignore[misc]  # celery is untyped
    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self._zone_info = ZoneInfo(zone)

    @property
    def tz(self) -> tzinfo:  # a cached_property in celery: the app's zone
        return self._zone_info

    def __repr__(self) -> str:
        return f"<zoned crontab: {self._orig_minute} {self._orig_hour} {self._orig_day_of_week} {self.zone}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _zoned,
            (
                self._orig_minute,
                self._orig_hour,
                self._orig_day_of_week,
                self._orig_day_of_month,
                self._orig_month_of_year,
                self.zone,
            ),
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ZonedCrontab):
            return bool(super().__eq__(other)) and other.zone == self.zone
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like celery's schedules


def _zoned(
    minute: Any, hour: Any, day_of_week: Any, day_of_month: Any, month_of_year: Any, zone: str
) -> ZonedCrontab:
    return ZonedCrontab(minute, hour, day_of_week, day_of_month, month_of_year, zone=zone)


class ZonedJSONEncoder(RedBeatJSONEncoder):  # type: ignore[misc]  # redbeat is untyped
    def default(self, obj: Any) -> Any:
        if isinstance(obj, ZonedCrontab):
            return {
                "__type__": ZONED_TYPE,
                "minute": obj._orig_minute,
                "hour": obj._orig_hour,
                "day_of_week": obj._orig_day_of_week,
                "day_of_month": obj._orig_day_of_month,
                "month_of_year": obj._orig_month_of_year,
                "zone": obj.zone,
            }
        return super().default(obj)


class ZonedJSONDecoder(RedBeatJSONDecoder):  # type: ignore[misc]  # redbeat is untyped
    def dict_to_object(self, d: dict[str, Any]) -> Any:
        if d.get("__type__") == ZONED_TYPE:
            fields = {k: v for k, v in d.items() if k != "__type__"}
            zone = fields.pop("zone")
            return ZonedCrontab(zone=zone, **fields)
        return super().dict_to_object(d)


class ZonedRedBeatEntry(RedBeatSchedulerEntry):  # type: ignore[misc]  # redbeat is untyped
    """RedBeat's entry, storing a :class:`ZonedCrontab` with its zone."""

    @staticmethod
    def decode_definition(definition: str | bytes) -> Any:
        return json.loads(definition, cls=ZonedJSONDecoder)

    @staticmethod
    def encode_definition(definition: dict[str, Any]) -> str:
        return json.dumps(definition, cls=ZonedJSONEncoder)

    def save(self) -> ZonedRedBeatEntry:
        # RedBeatSchedulerEntry.save with the zone-keeping encoder for the definition.
        definition = {
            "name": self.name,
            "task": self.task,
            "args": self.args,
            "kwargs": self.kwargs,
            "options": self.options,
            "schedule": self.schedule,
            "enabled": self.enabled,
        }
        meta = {"last_run_at": self.last_run_at}
        with get_redis(self.app).pipeline() as pipe:
            pipe.hset(self.key, "definition", self.encode_definition(definition))
            pipe.hsetnx(self.key, "meta", json.dumps(meta, cls=RedBeatJSONEncoder))
            pipe.zadd(self.app.redbeat_conf.schedule_key, {self.key: self.score})
            pipe.execute()
        return self

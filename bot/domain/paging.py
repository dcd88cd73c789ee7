"""A page of results, computed the same way for every list in the product."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 0
    size: int = 8

    def __post_init__(self) -> None:
        if self.page < 0 or not 1 <= self.size <= 100:
            raise ValueError("page must be >= 0 and size within 1..100")

    @property
    def offset(self) -> int:
        return self.page * self.size


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * self.size < self.total


def clamp_page(request: PageRequest, total: int) -> PageRequest:
    """A stale "next" button past the end shows the last page instead of an empty one."""
    last = max(0, -(-total // request.size) - 1)
    return PageRequest(page=min(request.page, last), size=request.size)

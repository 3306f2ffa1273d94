"""Sources as numbered notes: each distinct source text is written once at the foot of the page,
and every figure that rests on it points there ("[3]"), rather than a paragraph per row."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Notes:
    """The page's numbered notes, in first-cited order. Mutable while the page is assembled
    (one per render), read-only after: ``cite`` returns a note's number, ``items`` the list."""

    _numbers: dict[str, int] = field(default_factory=dict)

    def cite(self, text: object) -> int | None:
        """The number of the note holding ``text`` (added if new); None for no text."""
        source = " ".join(str(text).split()) if text is not None else ""
        if not source:
            return None
        if source not in self._numbers:
            self._numbers[source] = len(self._numbers) + 1
        return self._numbers[source]

    def cite_all(self, *texts: object) -> tuple[int, ...]:
        """The distinct note numbers of ``texts``, in order (empty texts skipped)."""
        numbers: list[int] = []
        for text in texts:
            number = self.cite(text)
            if number is not None and number not in numbers:
                numbers.append(number)
        return tuple(numbers)

    @property
    def items(self) -> tuple[tuple[int, str], ...]:
        return tuple((number, text) for text, number in self._numbers.items())

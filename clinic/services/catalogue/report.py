"""What an import did (API.md, the catalogue file's import report): per section, how many records
it created, updated or left unchanged, the warnings it noticed without refusing, and how many
booked courses keep the rules they were booked under (DOMAIN.md "A course over its lifetime")."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinic.services.world.aftercare import kept_rules_notice


@dataclass(slots=True)
class SectionCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ImportReport:
    """What an import did, per section, and what it noticed without refusing."""

    counts: dict[str, SectionCount] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)
    # Courses whose rules the import changed: how many of their booked courses keep the rules
    # they were booked under (DOMAIN.md "A course over its lifetime").
    booked: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())

    def count(self, section: str, outcome: str) -> None:
        c = self.counts.setdefault(section, SectionCount())
        setattr(c, outcome, getattr(c, outcome) + 1)

    def summary(self) -> list[str]:
        return [
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self.counts.items()
        ] + [f"course {code}: {kept_rules_notice(n)}" for code, n in self.booked.items()]

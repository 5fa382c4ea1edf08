"""DICOM person names (PS3.5 6.2.1): components and component groups.

A PN value has up to three component groups separated by "=" (alphabetic,
ideographic, phonetic), each with up to five components separated by "^"
(family, given, middle, prefix, suffix). Trailing empty components and groups
are left out, so "Smith^John" and "Smith^John^^^==" mean the same name.
"""

from dataclasses import dataclass

COMPONENTS = ("family", "given", "middle", "prefix", "suffix")


def join_trimmed(parts: list[str] | tuple[str, ...], separator: str) -> str:
    """Join with the separator, leaving out trailing empty parts."""
    parts = list(parts)
    while parts and not parts[-1]:
        parts.pop()
    return separator.join(parts)


@dataclass(frozen=True)
class PersonName:
    """A person name with its alphabetic components and the other two forms.

    The ideographic and phonetic forms are kept as whole component groups
    ("山田^太郎", "やまだ^たろう"): the RIS shows and returns them as received.
    """

    family: str = ""
    given: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""
    ideographic: str = ""
    phonetic: str = ""

    @classmethod
    def parse(cls, value: str) -> "PersonName":
        groups = [*(value or "").split("="), "", ""]
        components = groups[0].split("^") + [""] * len(COMPONENTS)
        return cls(
            *(component.strip() for component in components[: len(COMPONENTS)]),
            ideographic=groups[1],
            phonetic=groups[2],
        )

    @property
    def alphabetic(self) -> str:
        return join_trimmed((self.family, self.given, self.middle, self.prefix, self.suffix), "^")

    def __str__(self) -> str:
        return join_trimmed((self.alphabetic, self.ideographic, self.phonetic), "=")

    def readable(self) -> str:
        """The name as a person would write it: "Dr. Jürgen Müller"."""
        words = (self.prefix, self.given, self.middle, self.family, self.suffix)
        alphabetic = " ".join(word for word in words if word)
        return alphabetic or self.ideographic.replace("^", " ") or self.phonetic


def search_key(name: "PersonName | str") -> str:
    """The form a person name is matched in: upper case, all components present.

    "Müller^Jürgen" becomes "MÜLLER^JÜRGEN^^^=^^^^=^^^^": every one of the
    three groups has its five components, so that a query pattern can say
    "whatever the remaining components are" (see `search_pattern`).
    """
    if isinstance(name, str):
        name = PersonName.parse(name)
    groups = [
        [name.family, name.given, name.middle, name.prefix, name.suffix],
        _components(name.ideographic),
        _components(name.phonetic),
    ]
    return "=".join("^".join(group) for group in groups).upper()


def search_pattern(query: str) -> str:
    """A DICOM wildcard pattern (* and ?) over `search_key` values for a PN query.

    Worklist users expect "Müller" to find "Müller^Jürgen": matching is
    case-insensitive, and components and groups the query leaves out match
    anything. Within what the query gives, * and ? keep their DICOM meaning,
    and may match across "^" and "=" (PS3.4 C.2.2.2.4 leaves wildcard matching
    of PN to the implementation).
    """
    # Trailing empty components and groups mean nothing (PS3.5 6.2.1).
    groups = query.upper().rstrip("=").split("=")
    patterns = []
    for group in groups:
        group = group.rstrip("^")
        components = group.split("^")
        if group in ("", "*"):
            patterns.append("*")
        elif len(components) < len(COMPONENTS):
            patterns.append("^".join(components) + "^*")
        else:
            patterns.append(group)
    if len(groups) < 3:
        patterns.append("*")
    return "=".join(patterns)


def _components(group: str) -> list[str]:
    return (group.split("^") + [""] * len(COMPONENTS))[: len(COMPONENTS)]

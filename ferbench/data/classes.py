"""The canonical emotion vocabulary every prepared store maps onto.

The order is AffectNet's (0 neutral ... 7 contempt) because it is the largest dataset with all eight
classes; a store keeps the subset it has, in this order, and its integer labels index that subset.
"""

from __future__ import annotations

from ferbench.errors import FerbenchError

EMOTIONS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "sadness",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)

# Spellings found in the public downloads (folder names, CSV headers, file codes).
ALIASES: dict[str, str] = {
    "neutral": "neutral", "ne": "neutral", "neu": "neutral",
    "happiness": "happiness", "happy": "happiness", "ha": "happiness", "hap": "happiness", "joy": "happiness",
    "sadness": "sadness", "sad": "sadness", "sa": "sadness",
    "surprise": "surprise", "surprised": "surprise", "su": "surprise", "sur": "surprise",
    "fear": "fear", "fearful": "fear", "fe": "fear", "afraid": "fear",
    "disgust": "disgust", "disgusted": "disgust", "di": "disgust",
    "anger": "anger", "angry": "anger", "an": "anger",
    "contempt": "contempt", "co": "contempt",
}


class UnknownClassError(FerbenchError):
    """A class name that does not map onto the canonical vocabulary."""


def canonical(name: str, class_map: dict[str, str] | None = None) -> str:
    """Map a dataset's class spelling onto the canonical vocabulary.

    ``class_map`` (from ``--class-map old=new,...``) is consulted first, so users can rename
    folders that use their own words.
    """
    key = name.strip().lower()
    if class_map and key in class_map:
        key = class_map[key].strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    known = ", ".join(EMOTIONS)
    raise UnknownClassError(
        f"unknown class {name!r}; known classes: {known} (map it with --class-map {key}=<known class>)"
    )


def subset(names: set[str] | list[str]) -> list[str]:
    """The canonical classes present in ``names``, in canonical order."""
    present = set(names)
    return [e for e in EMOTIONS if e in present]


def parse_class_map(text: str | None) -> dict[str, str]:
    """Parse ``'happy=happiness,mad=anger'`` into a dict (empty for None/'')."""
    if not text:
        return {}
    pairs = {}
    for item in text.split(","):
        if "=" not in item:
            raise ValueError(f"--class-map entry {item!r} is not of the form old=new")
        old, new = item.split("=", 1)
        if new.strip().lower() not in ALIASES:
            raise ValueError(
                f"--class-map {item.strip()!r}: {new.strip()!r} is not a known class; map onto one of "
                + ", ".join(EMOTIONS)
            )
        pairs[old.strip().lower()] = new.strip().lower()
    return pairs

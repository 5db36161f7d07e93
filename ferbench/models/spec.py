"""``ModelSpec``: everything needed to rebuild a model, stored in every checkpoint's metadata."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so a spec compares equal before and after being saved (tuples → lists)."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class ModelSpec:
    """Fully resolved model description: ``create_model(**spec.to_dict())`` rebuilds the same network.

    ``kwargs`` holds every architecture-specific keyword with its resolved value (defaults included).
    """

    arch: str
    attention: str = "none"
    activation: str = "relu"
    num_classes: int = 7
    in_chans: int = 1
    img_size: int = 48
    heads: str = "cls"
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", _jsonable(dict(self.kwargs)))

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            from ferbench.models.errors import ModelConfigError

            raise ModelConfigError(
                f"model spec has unknown field(s) {unknown}; expected a subset of {sorted(names)}"
            )
        return cls(**data)

    def diff(self, other: ModelSpec) -> dict[str, tuple[Any, Any]]:
        """Fields that differ: ``{name: (self_value, other_value)}``."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}

    def short(self) -> str:
        """One-line human form, e.g. ``resnet18[se,elu,cls,7cls,1ch,48px]``."""
        extra = "".join(f",{k}={v}" for k, v in sorted(self.kwargs.items()))
        return (
            f"{self.arch}[{self.attention},{self.activation},{self.heads},{self.num_classes}cls,"
            f"{self.in_chans}ch,{self.img_size}px{extra}]"
        )

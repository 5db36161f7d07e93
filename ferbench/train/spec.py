"""What a grid trains (:class:`GridSpec`) and the grid files that hold one (TOML or YAML, see
``benchmarks/grids/``): datasets × archs × attentions × activations × seeds (× folds on k-fold
stores). :mod:`ferbench.train.plan` turns a spec into concrete cells, :mod:`ferbench.train.grid`
trains them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ferbench.models import DEFAULT
from ferbench.train.recipe import ConfigError, TrainConfig, recipe_train

PROTOCOLS = ("auto", "split", "kfold")


@dataclass
class GridSpec:
    """What a grid trains.

    ``recipe`` names a preset of :data:`~ferbench.train.recipe.RECIPES`; ``train`` overrides it (and the
    :class:`TrainConfig` defaults); ``model_kwargs`` go to ``create_model``.
    An attention/activation of ``default`` is the architecture's own (DDAMFN: coord + prelu); cell
    ids always show the resolved name. ``variants`` names extra archs built from a registered one
    with fixed keywords, e.g. ``{"emonet_mhsa": {"arch": "emonet", "head_attention": "mhsa"}}``.
    ``dataset_seeds`` gives named datasets their own seeds instead of ``seeds``, e.g. ``{"ckplus": [0]}``:
    a k-fold store repeats over its folds, a fixed-split one needs seeds to have a spread at all.
    """

    name: str = "default"
    datasets: list[str] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    attentions: list[str] = field(default_factory=lambda: [DEFAULT])
    activations: list[str] = field(default_factory=lambda: [DEFAULT])
    seeds: list[int] = field(default_factory=lambda: [0])
    dataset_seeds: dict[str, list[int]] = field(default_factory=dict)
    protocol: str = "auto"
    heads: str = "cls"
    recipe: str = "default"
    train: dict = field(default_factory=dict)
    model_kwargs: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)

    def model_of(self, arch: str) -> tuple[str, dict]:
        """The registered arch and the create_model keywords behind a (possibly variant) arch name."""
        v = dict(self.variants.get(arch, {}))
        return v.pop("arch", arch), {**self.model_kwargs, **v}

    def seeds_for(self, dataset: str) -> list[int]:
        """The seeds ``dataset``'s cells train with."""
        return self.dataset_seeds.get(dataset, self.seeds)

    def validate(self) -> None:
        for key in ("datasets", "archs"):
            if not getattr(self, key):
                raise ConfigError(
                    f"grid {self.name!r} has no {key}; pass --{key} a,b or list them in the grid file"
                )
        try:  # --seeds arrives as text from the CLI
            self.seeds = [int(s) for s in self.seeds]
        except (TypeError, ValueError):
            seeds = ",".join(map(str, self.seeds))
            raise ConfigError(f"--seeds {seeds}: expected integers, e.g. --seeds 0,1") from None
        if any(s < 0 for s in self.seeds):  # numpy's generators refuse them (and s-1 is an odd cell id)
            raise ConfigError(f"--seed {min(self.seeds)}: seeds must be 0 or more")
        for ds, seeds in self.dataset_seeds.items():
            if not (isinstance(seeds, list) and seeds and all(isinstance(x, int) and x >= 0 for x in seeds)):
                raise ConfigError(f"grid key dataset_seeds.{ds} = {seeds!r}: expected a non-empty list of seeds "
                                  "0 or more, e.g. ckplus = [0]")
        for ds in self.datasets:
            if Path(ds).name != ds or ds in (".", ".."):  # a path: cell ids and run dirs need a plain name
                p = Path(ds)
                raise ConfigError(f"--dataset {ds}: give a store name, not a path: "
                                  f"--data-dir {p.parent} --dataset {p.name}")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        self.train_config().validate()

    def train_config(self) -> TrainConfig:
        """The named recipe with this grid's ``train`` options over it (not yet resolved for a store).

        ``augment`` merges key by key, so ``augment = {erase_p = 0.2}`` over a recipe changes that one
        strength and keeps the recipe's others.
        """
        base = recipe_train(self.recipe)
        merged = {**base, **self.train}
        if isinstance(base.get("augment"), dict) and isinstance(self.train.get("augment"), dict):
            merged["augment"] = {**base["augment"], **self.train["augment"]}
        return TrainConfig.from_dict(merged)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GridSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown grid key(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        for key, value in d.items():  # a grid file's mistakes, named before anything runs
            kind = {"datasets": str, "archs": str, "attentions": str, "activations": str, "seeds": int}.get(key)
            if kind and not (isinstance(value, list) and all(isinstance(v, kind) for v in value)):
                raise ConfigError(
                    f"grid key {key} = {value!r}: expected a list of {'integers' if kind is int else 'names'}, e.g. "
                    + ("seeds = [0, 1]" if kind is int else f'{key} = ["a", "b"]')
                )
            if key in ("name", "protocol", "heads", "recipe") and not isinstance(value, str):
                raise ConfigError(f"grid key {key} = {value!r}: expected a string")
            if key in ("train", "model_kwargs", "variants", "dataset_seeds") and not isinstance(value, dict):
                raise ConfigError(f"grid key {key} = {value!r}: expected a table ([{key}] in TOML)")
        return cls(**d)


# ---- grid files ------------------------------------------------------------------------------------


def load_grid_file(path: str | Path) -> GridSpec:
    """Read a TOML or YAML grid file; a clear error naming the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"grid file {path} does not exist; see benchmarks/grids/ for examples")
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"grid file {path} must end in .toml, .yaml or .yml")
    except ConfigError:
        raise
    except Exception as err:  # tomllib/yaml parse errors: report the file and the parser's message
        msg = " ".join(str(err).split())  # YAML errors span several lines: keep the message on one
        raise ConfigError(f"grid file {path} is not valid {path.suffix[1:].upper()}: {msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"grid file {path} must be a table of keys (datasets, archs, ...), not a list/value")
    data.setdefault("name", path.stem)
    return GridSpec.from_dict(data)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) to a TOML grid file")


def _toml_tables(d: dict, prefix: str) -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict) and v is not None]
    for k, v in d.items():
        if isinstance(v, dict):
            lines += ["", f"[{prefix}{k}]", *_toml_tables(v, f"{prefix}{k}.")]
    return lines


def save_grid_file(spec: GridSpec, path: str | Path) -> Path:
    """Write ``spec`` as TOML (``.toml``) or YAML; ``load_grid_file`` gives the same spec back."""
    path = Path(path)
    if path.suffix == ".toml":
        text = "\n".join(_toml_tables(spec.to_dict(), "")) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(spec.to_dict(), sort_keys=False)
    path.write_text(text)
    return path

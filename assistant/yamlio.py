"""Strict YAML loading: duplicate keys are an error that names the file, never a silent overwrite."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import DataError

M = TypeVar("M", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping with the same key twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"キー「{key}」が重複しています（{line}行目）", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file strictly; every problem becomes a DataError naming the file."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} を読めません: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path} の YAML が正しくありません: {exc}") from exc


def first_problem(exc: ValidationError) -> str:
    """The first problem pydantic found, as 「key: message」 (「needs.0.wieght: Extra inputs are not permitted」)."""
    first = exc.errors()[0]
    return f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}"


def load_model(path: Path, model: type[M], empty: Any = None) -> M:
    """A YAML file validated against a pydantic model (``empty`` for an empty file); its first problem is a DataError
    naming the file and the key (a misspelt ``weight`` in needs.yaml: 「needs.0.wieght」)."""
    try:
        return model.model_validate(load_yaml(path) or ({} if empty is None else empty))
    except ValidationError as exc:
        raise DataError(f"{path.name}: 形式が正しくありません: {first_problem(exc)}") from exc

"""Reading the shipped data files: one YAML loader and one way to say what is wrong.

Signatures, decision rules, declared facts, evidence phrases and the detection catalog are all
YAML validated by pydantic models. A broken file is a bug in the package, so the message must
take the reader straight to it: ``<file>: <where in it>: <what>``, every problem of the entry on
one line. libyaml's safe loader is used when PyYAML was built with it (several times faster on
the files every process loads), else the pure-Python one: the same safe subset of YAML.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from podsleuth.errors import KnowledgeBaseError

YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

M = TypeVar("M", bound=BaseModel)


def read_yaml(text: str | bytes, *, where: str, error: type[KnowledgeBaseError] = KnowledgeBaseError) -> Any:
    """The document, or ``error`` naming ``where`` and the YAML problem on one line."""
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as e:
        raise error(f"{where}: invalid YAML: {' '.join(str(e).split())}") from None


def validation_message(e: ValidationError) -> str:
    """Every problem pydantic found, ``field.path: message``, joined with ``; ``."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "<entry>"
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def validated(
    model: type[M], data: Any, *, where: str, error: type[KnowledgeBaseError] = KnowledgeBaseError
) -> M:
    """``data`` as ``model``, or ``error`` naming ``where`` and what does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise error(f"{where}: {validation_message(e)}") from None

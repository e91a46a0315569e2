"""The advice rule engine: a versioned rule set (TOML data file) evaluated against analytics rows.

A rule names an analytics view (``source``), the fields that name its subject, a list of conditions
``[field, operator, value]`` that must all hold, the evidence fields to cite and the advice text in
English and Chinese with ``{field}`` placeholders. A field with ``[labels.<field>]`` in the set (codes such
as ``failure_type = "liquefaction"``) prints its label in the text's language; the evidence keeps the code.
:func:`evaluate` is pure: rows in, advice drafts out
(the store reads the views and writes the items). The shipped set is
``expedition/outputs/advice/rules/reconstruction_rules_v1.toml``; ``[advice] rules_file`` in ``qe.toml`` may
point at another one.
"""

from __future__ import annotations

import hashlib
import json
import math
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from expedition.errors import PolicyError

__all__ = [
    "AdviceDraft",
    "Condition",
    "Rule",
    "RuleSet",
    "evaluate",
    "evaluate_rule",
    "format_text",
    "load_rule_set",
    "shipped_rule_set_path",
]

OPERATORS = (">=", ">", "<=", "<", "==", "!=", "in", "not_in")
SHIPPED = "reconstruction_rules_v1.toml"


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # a literal, a list (in/not_in) or "$parameter"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    version: int
    category: str
    source: str
    subject: tuple[str, ...]
    when: tuple[Condition, ...]
    evidence: tuple[str, ...]
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: str
    path: str
    sha256: str
    parameters: Mapping[str, Any]
    rules: tuple[Rule, ...]
    #: field -> code -> language -> label: what a text placeholder of that field prints for the code
    labels: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        """The analytics views the rules read, sorted."""
        return sorted({r.source for r in self.rules})


@dataclass(frozen=True)
class AdviceDraft:
    """One advice item before it is stored: which rule fired on which subject, with what evidence."""

    rule_id: str
    rule_version: int
    rule_set_version: str
    rule_set_sha256: str
    category: str
    source: str
    subject: str
    text_en: str
    text_zh: str
    evidence: dict[str, Any]

    @property
    def evidence_json(self) -> str:
        return json.dumps(self.evidence, sort_keys=True, ensure_ascii=False, default=str)

    @property
    def evidence_sha256(self) -> str:
        return hashlib.sha256(self.evidence_json.encode("utf-8")).hexdigest()


def shipped_rule_set_path() -> Path:
    return Path(str(resources.files("expedition.outputs.advice") / "rules" / SHIPPED))


def _fail(path: str, where: str, problem: str) -> PolicyError:
    return PolicyError(f"{path}: {where}: {problem}")


def _rule(raw: Any, i: int, path: str, params: Mapping[str, Any]) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table")
    for key in ("id", "version", "category", "source", "subject", "when", "evidence", "text"):
        if key not in raw:
            raise _fail(path, where, f"missing key {key!r}")
    where = f"rule {raw['id']!r}"
    if not str(raw["source"]).startswith("analytics_"):
        raise _fail(path, where, f"source must be an analytics_* view, got {raw['source']!r}")
    conds = []
    for j, c in enumerate(raw["when"]):
        if not (isinstance(c, list) and len(c) == 3 and isinstance(c[0], str)):
            raise _fail(path, f"{where}, when[{j}]", f"expected [field, operator, value], got {c!r}")
        if c[1] not in OPERATORS:
            raise _fail(path, f"{where}, when[{j}]", f"operator {c[1]!r} is not one of {', '.join(OPERATORS)}")
        if isinstance(c[2], str) and c[2].startswith("$") and c[2][1:] not in params:
            raise _fail(path, f"{where}, when[{j}]", f"unknown parameter {c[2]!r}")
        conds.append(Condition(c[0], c[1], c[2]))
    text = raw["text"]
    if not isinstance(text, dict) or not text.get("en") or not text.get("zh"):
        raise _fail(path, where, "text.en and text.zh are both required")
    subject = raw["subject"]
    subject = (subject,) if isinstance(subject, str) else tuple(subject)
    try:
        version = int(raw["version"])
    except (TypeError, ValueError) as exc:
        raise _fail(path, where, f"version must be an integer, got {raw['version']!r}") from exc
    return Rule(str(raw["id"]), version, str(raw["category"]), str(raw["source"]), subject,
                tuple(conds), tuple(raw["evidence"]), str(text["en"]), str(text["zh"]))


def load_rule_set(path: Path | str | None = None) -> RuleSet:
    """Read and check a rule set (default: the shipped version 1)."""
    p = Path(path) if path is not None else shipped_rule_set_path()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read the advice rule set {p}: {exc}") from exc
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: not valid TOML: {exc}") from exc
    head = doc.get("rule_set")
    if not isinstance(head, dict) or "version" not in head:
        raise _fail(str(p), "[rule_set]", "needs at least a version")
    params = dict(doc.get("parameters", {}))
    labels = _labels(doc.get("labels", {}), str(p))
    rules = tuple(_rule(r, i, str(p), params) for i, r in enumerate(doc.get("rules", [])))
    ids = [(r.rule_id, r.version) for r in rules]
    if len(set(ids)) != len(ids):
        raise _fail(str(p), "rules", "a rule id and version appear twice")
    return RuleSet(str(head.get("name", p.stem)), str(head["version"]), str(p),
                   hashlib.sha256(data).hexdigest(), params, rules, labels)


LANGS = ("en", "zh")


def _labels(raw: Any, path: str) -> dict[str, dict[str, dict[str, str]]]:
    """``[labels.<field>]``: ``code = { en = "...", zh = "..." }``, both languages required."""
    if not isinstance(raw, dict):
        raise _fail(path, "[labels]", "expected tables of codes per field")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for fname, codes in raw.items():
        if not isinstance(codes, dict):
            raise _fail(path, f"[labels.{fname}]", "expected code = { en = ..., zh = ... }")
        for code, names in codes.items():
            if not isinstance(names, dict) or any(not isinstance(names.get(lg), str) or not names[lg] for lg in LANGS):
                raise _fail(path, f"[labels.{fname}] {code}", "needs a non-empty en and zh label")
        out[str(fname)] = {str(c): {lg: str(n[lg]) for lg in LANGS} for c, n in codes.items()}
    return out


def _in_language(values: Mapping[str, Any], labels: Mapping[str, Mapping[str, Mapping[str, str]]],
                 lang: str) -> dict[str, Any]:
    """``values`` with each labelled code replaced by its label in ``lang`` (unknown codes stay as they are)."""
    return {k: labels[k][v][lang] if k in labels and isinstance(v, str) and v in labels[k] else v
            for k, v in values.items()}


def _resolve(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return params[value[1:]]
    return value


def _holds(c: Condition, row: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    have = row.get(c.field)
    want = _resolve(c.value, params)
    if have is None or (isinstance(have, float) and math.isnan(have)):
        return False  # a missing figure never triggers advice
    if c.op == "in":
        return have in want
    if c.op == "not_in":
        return have not in want
    try:
        return bool({
            ">=": have >= want, ">": have > want, "<=": have <= want, "<": have < want,
            "==": have == want, "!=": have != want,
        }[c.op])
    except TypeError:
        return False


class _SafeFormatter(string.Formatter):
    """str.format restricted to plain names (no attribute or index access); None prints as 'n/a'."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not field_name.isidentifier():
            raise PolicyError(f"placeholder {{{field_name}}} must be a plain field name")
        return self.get_value(field_name, args, kwargs), field_name

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int) or key not in kwargs:
            raise PolicyError(f"placeholder {{{key}}} names no field of the row or parameter")
        return kwargs[key]

    def format_field(self, value: Any, format_spec: str) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return super().format_field(value, format_spec)


def format_text(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{field}`` placeholders of an advice text (see :class:`_SafeFormatter`)."""
    return _SafeFormatter().vformat(template, (), values)


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, int | str | bool) or v is None:
        return v
    return str(v)


def evaluate_rule(rule: Rule, rule_set: RuleSet, rows: Iterable[Mapping[str, Any]]) -> list[AdviceDraft]:
    """Advice drafts of one rule over the rows of its source view (rows in a stable order)."""
    out = []
    for row in rows:
        if not all(_holds(c, row, rule_set.parameters) for c in rule.when):
            continue
        values = {**rule_set.parameters, **row}
        subject = " | ".join(str(row.get(f)) for f in rule.subject)
        evidence = {f: _plain(row.get(f)) for f in rule.evidence}
        out.append(AdviceDraft(
            rule.rule_id, rule.version, rule_set.version, rule_set.sha256, rule.category, rule.source, subject,
            format_text(rule.text_en, _in_language(values, rule_set.labels, "en")),
            format_text(rule.text_zh, _in_language(values, rule_set.labels, "zh")), evidence,
        ))
    return out


def evaluate(rule_set: RuleSet, rows_by_source: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[AdviceDraft]:
    """Every rule of ``rule_set`` over the rows of its source view; order: rule order, then row order."""
    out: list[AdviceDraft] = []
    for rule in rule_set.rules:
        out.extend(evaluate_rule(rule, rule_set, rows_by_source.get(rule.source, ())))
    return out

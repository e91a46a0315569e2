"""The message catalogue of briefs and of the reviewers' web page (``expedition/outputs/briefs/i18n/{en,zh}.toml``)
and locale formatting of numbers, dates and coded values.

Every user-visible string comes from the catalogue: labels, values (alert levels, statuses, tiers, units,
survey categories), sentences (decision reasons, caveats, captions, the safety note). Sentences take named
fields (``t.fmt("safety_text", big=6, p_week="40%")``); coded values are looked up with
:meth:`Texts.value` (``t.value("alert", "red")`` -> key ``alert_red``). A missing key raises
:class:`MissingText`; ``tests/test_briefs_i18n.py`` checks that both languages carry the same keys and the
same fields in each sentence.

Numbers follow the CLDR decimal pattern of each locale (``#,##0.###``: comma grouping, point decimals in
both ``en`` and ``zh``); dates are ``2025-03-28 06:20 UTC`` in English and ``2025年3月28日 06:20 (UTC)`` in
Chinese (CLDR ``yMd`` of ``zh``).
"""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from expedition.errors import BriefError

__all__ = ["LANGS", "MissingText", "Texts", "format_date", "format_number", "format_percent", "texts"]

LANGS = ("en", "zh")
NA = "n/a"


class MissingText(BriefError, KeyError):
    """A fixed text is missing from a language file."""


class Texts(Mapping[str, str]):
    """The fixed text of one language; a missing key is an error naming the file and key."""

    def __init__(self, lang: str, table: dict[str, str]) -> None:
        self.lang = lang
        self._t = table

    def __getitem__(self, key: str) -> str:
        try:
            return self._t[key]
        except KeyError:
            raise MissingText(f"expedition/outputs/briefs/i18n/{self.lang}.toml: no text for key {key!r}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._t)

    def __len__(self) -> int:
        return len(self._t)

    def fmt(self, key: str, **fields: Any) -> str:
        """The sentence ``key`` with its named fields filled in."""
        return self[key].format(**fields)

    def value(self, kind: str, code: Any) -> str:
        """A coded value in words (``value("alert", "red")`` -> ``alert_red``); ``n/a`` for None."""
        if code is None or code == "":
            return self["na"]
        return self[f"{kind}_{str(code).strip().lower().replace(' ', '_').replace('-', '_')}"]

    def num(self, v: Any, digits: int = 0) -> str:
        return format_number(v, self.lang, digits) if v is not None else self["na"]

    def pct(self, v: Any, digits: int = 0) -> str:
        return format_percent(v, self.lang, digits) if v is not None else self["na"]

    def date(self, v: Any, with_time: bool = True) -> str:
        return format_date(v, self.lang, with_time) if v else self["na"]

    def join(self, items: list[str]) -> str:
        """A list in words: ``a, b, c`` in English, ``a、b、c`` in Chinese."""
        return self["list_sep"].join(items)


def format_number(v: Any, lang: str, digits: int = 0) -> str:
    """``v`` with locale grouping (CLDR ``#,##0``; ``en`` and ``zh`` both group by thousands with a comma)."""
    if v is None:
        return NA
    x = float(v)
    if digits == 0:
        return f"{round(x):,}"
    return f"{x:,.{digits}f}"


def format_percent(v: Any, lang: str, digits: int = 0) -> str:
    """A share (0..1) as a percentage (CLDR ``#,##0%`` in both languages)."""
    if v is None:
        return NA
    return f"{float(v):.{digits}%}"


def format_date(v: Any, lang: str, with_time: bool = True) -> str:
    """An ISO text or datetime in UTC, written for the locale."""
    if v is None or v == "":
        return NA
    d = dt.datetime.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(d, dt.datetime) and d.tzinfo is not None:
        d = d.astimezone(dt.UTC)
    if lang == "zh":
        day = f"{d.year}年{d.month}月{d.day}日"
        return f"{day} {d:%H:%M} (UTC)" if with_time and isinstance(d, dt.datetime) else day
    day = f"{d:%Y-%m-%d}"
    return f"{day} {d:%H:%M} UTC" if with_time and isinstance(d, dt.datetime) else day


def fields_of(template: str) -> set[str]:
    """The named fields of a catalogue sentence."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@cache
def texts(lang: str) -> Texts:
    """The fixed text of ``lang`` (``en`` or ``zh``)."""
    if lang not in LANGS:
        raise BriefError(f"unknown brief language {lang!r}: expected one of {', '.join(LANGS)}")
    raw = (resources.files("expedition.outputs.briefs") / "i18n" / f"{lang}.toml").read_text(encoding="utf-8")
    try:
        table = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise BriefError(f"expedition/outputs/briefs/i18n/{lang}.toml: not valid TOML: {exc}") from exc
    return Texts(lang, {str(k): str(v) for k, v in table.items()})


def catalogue(lang: str) -> Mapping[str, str]:
    """The whole catalogue of ``lang`` (for tests and the web page)."""
    return texts(lang)

"""Fixed text of briefs in English and Chinese (``expedition/outputs/briefs/i18n/{en,zh}.toml``)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources

from expedition.errors import BriefError

__all__ = ["LANGS", "MissingText", "Texts", "texts"]

LANGS = ("en", "zh")


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

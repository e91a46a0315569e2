"""Exceptions of the survey package (all are :class:`~expedition.errors.SurveyError`).

Tree::

    SurveyError                     (expedition.errors)
    ├── SurveyInputError            a file cannot be read: format, encoding, missing columns
    ├── MappingError                a mapping file is invalid or does not fit the input
    ├── UnknownExpedition           the expedition id does not exist (also a NotFound)
    └── SurveyRejected              --strict: the file has problems, nothing was written
"""

from __future__ import annotations

from expedition.errors import NotFound, SurveyError

__all__ = ["MappingError", "SurveyError", "SurveyInputError", "SurveyRejected", "UnknownExpedition"]


class SurveyInputError(SurveyError):
    """A survey file cannot be read (names the file and, when known, the row and column)."""


class MappingError(SurveyError):
    """A column-mapping file is invalid, or names a column the input does not have."""


class UnknownExpedition(SurveyError, NotFound):
    """The expedition id given for an ingest does not exist."""


class SurveyRejected(SurveyError):
    """Strict mode: the whole file was rejected because some rows have problems."""

    def __init__(self, message: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(message)

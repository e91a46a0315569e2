"""Exceptions raised by the expedition layer.

Tree::

    ExpeditionError
    ├── NotFound              an expedition, event or advice id does not exist
    ├── InvalidTransition     a status change the lifecycle does not allow
    ├── PolicyError           the trigger policy or membership file is invalid
    ├── SurveyError           a survey file cannot be ingested (see ``SurveyProblem`` rows for details)
    └── BriefError            a brief cannot be rendered
"""

from __future__ import annotations


class ExpeditionError(Exception):
    """Base class of every expedition-layer error."""


class NotFound(ExpeditionError):
    """An id does not exist (or is not visible to the caller)."""


class InvalidTransition(ExpeditionError):
    """The expedition lifecycle does not allow this status change."""


class PolicyError(ExpeditionError):
    """A policy, membership or rule-set file is invalid."""


class SurveyError(ExpeditionError):
    """A survey file cannot be ingested."""


class BriefError(ExpeditionError):
    """A brief cannot be rendered."""

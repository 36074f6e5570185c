"""The scheduler's old single-module name, kept for the code that still imports it (the CLI's
``doctor``, parts of the app, older tests). Everything lives in :mod:`studytool.srs` now — import
from there."""

from studytool.srs import *  # noqa: F403
from studytool.srs import __all__ as _srs_all
from studytool.stats import review_stats, reviews_per_day
from studytool.store import utcnow

__all__ = [*_srs_all, "review_stats", "reviews_per_day", "utcnow"]

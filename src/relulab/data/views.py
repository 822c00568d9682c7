"""Lecture 1's running example: predict tomorrow's views of a YouTube channel from the previous days.

The lecture used the real channel's statistics, which are not public, so ``daily_views`` makes a synthetic
stand-in with the same structure: growth, a weekly cycle (Fridays and Saturdays are low), holiday dips and
multiplicative noise.  ``window`` turns the series into (previous ``days`` days → next day) samples, with the
last year held out as the test set, as in the lecture.
"""
from dataclasses import dataclass
import datetime

import numpy as np

from .files import ArrayDataset

# Multiplier per weekday, Monday first (numpy counts 1970-01-01, a Thursday, as day 0; see _weekday).
# The lecture's plot dips every Friday and Saturday.
WEEKLY_CYCLE = (1.09, 1.105, 1.075, 1.00, 0.76, 0.70, 0.97)

# Lunar New Year's day (the holiday the lecture's channel dips on), Taiwan-style week off around it.
LUNAR_NEW_YEAR = {
    2010: "02-14", 2011: "02-03", 2012: "01-23", 2013: "02-10", 2014: "01-31", 2015: "02-19", 2016: "02-08",
    2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12", 2022: "02-01", 2023: "01-22",
    2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26", 2029: "02-13", 2030: "02-03",
}
LUNAR_NEW_YEAR_FALLBACK = "02-01"  # years outside the table: a synthetic series only needs a plausible date

# (days from the anchor date, multiplier): the holiday windows that pull views down.
LUNAR_NEW_YEAR_DIP = ((-2, 0.80), (-1, 0.62), (0, 0.55), (1, 0.58), (2, 0.65), (3, 0.75), (4, 0.88))
CHRISTMAS_DIP = ((-1, 0.78), (0, 0.70), (1, 0.82))             # anchored on 12-25
NEW_YEAR_DIP = ((-1, 0.75), (0, 0.68), (1, 0.85))              # anchored on 01-01

# Growth: thousands of views a day at the start, and the exponential growth rate per year.
START_LEVEL = 2.4
YEARLY_GROWTH = 0.12
SEMESTER_SWING = 0.10  # a teaching channel is busier in term time

# Noise.  In log space: a wandering level (today's surprise partly persists) plus day-to-day jitter.  On top:
# bursts (a video shared widely) that fade over a few days; their heavy tail is what a long window overfits to,
# so that, as in the lecture, 56 days of history predict no better than 28.
LEVEL_PERSISTENCE = 0.85
LEVEL_NOISE = 0.05
DAILY_NOISE = 0.06
BURST_RATE = 0.07     # chance of a burst starting on a given day
BURST_SIZE = 0.4      # mean extra views of a burst, as a fraction of the day's views (exponentially distributed)
BURST_DECAY = 0.5     # what is left of a burst the next day


@dataclass(frozen=True)
class ViewSeries:
    """One value per day: ``views[i]`` (in thousands) were watched on ``dates[i]``."""
    dates: np.ndarray   # datetime64[D]
    views: np.ndarray   # float64, thousands of views
    years: tuple        # the calendar years the dates touch, ascending

    def __len__(self):
        return len(self.views)

    def year_of(self):
        """The calendar year of every date, as an int array."""
        return self.dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _weekday(dates):
    """0 = Monday ... 6 = Sunday (datetime64 day 0, 1970-01-01, was a Thursday)."""
    return (dates.astype(np.int64) + 3) % 7


def _add_years(day, years):
    """The same calendar day ``years`` later (Feb 29 becomes Feb 28 in a non-leap year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _holiday_factor(dates, years):
    """Multiplier per day, below 1 inside the Lunar New Year, Christmas and New Year windows."""
    factor = np.ones(len(dates))
    anchors = []
    for year in range(years[0] - 1, years[-1] + 2):  # neighbouring years: a window can cross the range's edge
        anchors.append((np.datetime64(f"{year}-{LUNAR_NEW_YEAR.get(year, LUNAR_NEW_YEAR_FALLBACK)}"),
                        LUNAR_NEW_YEAR_DIP))
        anchors.append((np.datetime64(f"{year}-12-25"), CHRISTMAS_DIP))
        anchors.append((np.datetime64(f"{year}-01-01"), NEW_YEAR_DIP))
    for anchor, dip in anchors:
        for offset, multiplier in dip:
            factor[dates == anchor + np.timedelta64(offset, "D")] *= multiplier
    return factor


def _ar1(rng, n, persistence, noise):
    """x[i] = persistence * x[i-1] + N(0, noise²), started from its stationary distribution."""
    x = np.empty(n)
    x[0] = rng.normal(0.0, noise / np.sqrt(1 - persistence ** 2))
    shocks = rng.normal(0.0, noise, n)
    for i in range(1, n):
        x[i] = persistence * x[i - 1] + shocks[i]
    return x


def _decay(kicks, keep):
    """y[i] = keep * y[i-1] + kicks[i]: each kick fades geometrically over the following days."""
    y = np.empty(len(kicks))
    y[0] = kicks[0]
    for i in range(1, len(kicks)):
        y[i] = keep * y[i - 1] + kicks[i]
    return y


def daily_views(seed=0, years=4, start="2017-01-01"):
    """A synthetic daily view count (thousands) over ``years`` years from ``start``; same seed, same series."""
    if int(years) != years or years < 1:
        raise ValueError(f"daily_views: years must be a positive whole number, got {years!r}")
    try:
        first = datetime.date.fromisoformat(str(start))
    except ValueError:
        raise ValueError(f"daily_views: start must be an ISO date such as '2017-01-01', got {start!r}") from None
    end = _add_years(first, int(years))
    dates = np.arange(np.datetime64(first), np.datetime64(end), dtype="datetime64[D]")
    calendar_years = np.unique(dates.astype("datetime64[Y]").astype(np.int64) + 1970)
    n = len(dates)
    # One independent stream per noise component, so changing one component leaves the others' draws alone.
    level_rng, jitter_rng, burst_rng = np.random.default_rng(seed).spawn(3)

    t = np.arange(n) / 365.25
    trend = START_LEVEL * np.exp(YEARLY_GROWTH * t)
    semester = 1.0 + SEMESTER_SWING * np.sin(2 * np.pi * (t - 0.15))
    weekly = np.asarray(WEEKLY_CYCLE)[_weekday(dates)]
    holidays = _holiday_factor(dates, calendar_years)

    level = _ar1(level_rng, n, LEVEL_PERSISTENCE, LEVEL_NOISE)
    jitter = jitter_rng.normal(0.0, DAILY_NOISE, n)
    burst_starts = burst_rng.exponential(BURST_SIZE, n) * (burst_rng.random(n) < BURST_RATE)
    bursts = _decay(burst_starts, BURST_DECAY)

    views = trend * semester * weekly * holidays * np.exp(level + jitter) * (1.0 + bursts)
    return ViewSeries(dates=dates, views=views, years=tuple(int(y) for y in calendar_years))


class ViewWindows(ArrayDataset):
    """Samples (views of the previous ``days`` days, oldest first → views of the next day) from one split.

    ``features[i, -1]`` is yesterday; ``dates[i]`` is the day whose views ``targets[i]`` hold.
    """

    def __init__(self, features, targets, dates, days, years):
        super().__init__(features, targets)
        self.dates = dates
        self.days = days
        self.years = years

    def describe(self):
        span = f"{self.years[0]}" if len(self.years) == 1 else f"{self.years[0]}-{self.years[-1]}"
        return f"{len(self)} days of {span} predicted from the previous {self.days} days"


def window(series, days, test_year=None):
    """Split ``series`` into (train, test) ``ViewWindows``: targets before ``test_year`` train, targets in it test.

    ``test_year`` defaults to the series' last year.  A test sample's window may reach back into the previous
    year: only the day being predicted decides the split, as in the lecture.
    """
    if int(days) != days or days < 1:
        raise ValueError(f"window: days must be a positive whole number, got {days!r}")
    days = int(days)
    test_year = series.years[-1] if test_year is None else int(test_year)
    if test_year not in series.years:
        raise ValueError(f"window: test_year {test_year} is not in the series, whose years are {series.years}")
    if len(series) <= days:
        raise ValueError(f"window: a window of {days} days needs more than {len(series)} days of data")

    views = np.asarray(series.views, dtype=np.float32)
    # Row k holds views[k : k + days] and predicts views[k + days].
    windows = np.lib.stride_tricks.sliding_window_view(views[:-1], days)
    targets = views[days:, None]
    target_dates = series.dates[days:]
    target_years = series.year_of()[days:]

    def take(mask):
        years = tuple(int(y) for y in np.unique(target_years[mask]))
        return ViewWindows(np.ascontiguousarray(windows[mask]), targets[mask], target_dates[mask], days, years)

    train, test = take(target_years < test_year), take(target_years == test_year)
    if len(train) == 0:
        raise ValueError(f"window: no training days before {test_year} once {days} days of history are used up")
    return train, test

"""The report's statistics: `bench.stats` (moved one layer down, so that the tasks in `bench.tasks` compare runners
with the same bootstrap and paired tests), under the name the report's modules have always used."""

from bench.stats import *  # noqa: F403
from bench.stats import MIN_SEEDS_TWO_LEVEL, N_BOOTSTRAP  # noqa: F401  (constants a star import also brings)

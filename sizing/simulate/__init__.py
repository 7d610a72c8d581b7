"""A seeded shop simulator with ground truth: bodies from ANSUR II, brands with grading and vanity
sizing, mis-charted items, shoppers with fit preferences and size habits, realistic size choice,
fit outcomes from ease, returns and reviews. See ``docs/sizes.md`` for the size scales it labels with.
"""

from sizing.simulate.config import SimConfig, Simulated
from sizing.simulate.run import Format, simulate, stream, write

__all__ = ["Format", "SimConfig", "Simulated", "simulate", "stream", "write"]

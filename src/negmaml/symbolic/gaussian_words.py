"""Re-export of :mod:`negmaml.engines.gaussian_words` (SymPy-free, shared with numeric)."""

from negmaml.engines.gaussian_words import (
    G,
    Result,
    average,
    average_trace,
    cache_clear,
    power_word,
    product,
    scale,
)

__all__ = ["G", "Result", "average", "average_trace", "cache_clear", "power_word", "product",
           "scale"]

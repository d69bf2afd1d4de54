"""Re-export of :mod:`negmaml.engines.wishart_recursion` (SymPy-free, shared with numeric)."""

from negmaml.engines.wishart_recursion import (
    ENGINE_VERSION,
    TraceMomentEngine,
    clear_cache,
    trace_moment,
)

__all__ = ["ENGINE_VERSION", "TraceMomentEngine", "trace_moment", "clear_cache"]

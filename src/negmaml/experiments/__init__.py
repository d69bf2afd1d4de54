"""The paper's experiments: figure configurations, sweeps, result files and plots."""

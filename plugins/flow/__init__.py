"""Flow estimator plugins."""

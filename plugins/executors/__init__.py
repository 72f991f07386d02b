"""Executor plugins (robots, simulators)."""

"""Pose solver plugins."""

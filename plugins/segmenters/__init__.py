"""Segmenter plugins."""

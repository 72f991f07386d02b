"""The avdc command-line tool (typer)."""

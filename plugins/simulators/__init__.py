"""One home per simulated world: its scene wrapper, task knowledge, scripted experts and dataset
collection. Plugins of every kind that need a world's privileged data import its home (and
core), never each other; a world's home imports no plugin-kind folder."""

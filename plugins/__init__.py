"""avdc built-in plugins, registered through the `avdc` entry-point group like any other."""

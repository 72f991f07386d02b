"""Video generator and text encoder plugins."""

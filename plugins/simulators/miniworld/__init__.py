"""MiniWorld (Farama ``miniworld``, OpenGL through headless EGL): ``scene`` (environment,
rendering, exact camera, the :class:`~avdc_core.simulation.SimulatedScene` contract, the
scripted go-to-the-target expert) and ``tasks`` (go-to-object tasks by name)."""

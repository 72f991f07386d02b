"""Meta-World v3 (Sawyer arm, MuJoCo): ``scene`` (environment, rendering, exact camera, the
:class:`~avdc_core.simulation.SimulatedScene` contract), ``tasks`` (objects by name, cameras),
``experts`` (scripted policies), ``collect`` (demonstrations in the AVDC layout) and
``commands`` (``avdc collect metaworld``, registered through the ``avdc_cli`` hook)."""

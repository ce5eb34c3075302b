"""Imported by mutmut's fork server before it forks the mutants' sessions (``forkserver_warmup =
"import"``, ``preload_modules_file``, set by :mod:`botplot_dev.mutation`): see
:func:`botplot_dev.mutation_session.warm_up`."""

from botplot_dev.mutation_session import warm_up

warm_up()

"""A pytest plugin loaded before any other (pyproject.toml: ``-p skip_slow_imports``): nbval imports
nbformat, hence jsonschema, whose optional RFC 3987 grammar would cost every test process 2-3 s of
CPU; the notebooks' schemas never use it, and the kit's own pool workers go without it too."""

from kpilib.report.worker import skip_slow_imports

skip_slow_imports()

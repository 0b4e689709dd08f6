"""The report: the KPI model and its registry, page helpers, rendering, exports and the runner.
It sits on top of the metrics and the data layer."""

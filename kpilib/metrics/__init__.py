"""The metrics: one module per KPI family, pure DataFrame-in, DataFrame-out functions.
They import only the data layer's types and the package's errors and periods."""

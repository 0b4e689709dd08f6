"""The data layer: the contract, reading files and databases, validation, the sample company,
the as-of cut and currency conversion. It imports nothing from the metrics or the report."""

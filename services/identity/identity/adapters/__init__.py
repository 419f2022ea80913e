"""Everything with I/O: read models, projections, operational state, public events."""

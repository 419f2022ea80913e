"""Everything of the documents service with I/O: read models, blobs, PDF rendering, the e-Meterai client."""

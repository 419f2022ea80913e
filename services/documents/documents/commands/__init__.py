"""Use cases of the documents service: files (receipts, uploads, profiles) and the stamped statements."""

"""Documents service: uploaded files, registration receipts and profile PDFs."""

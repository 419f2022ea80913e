"""Documents service: uploaded files, registration receipts, profile PDFs and the stamped Surat Pernyataan."""

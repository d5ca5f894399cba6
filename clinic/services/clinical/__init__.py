"""Clinical records: consents, patch tests, skin type and treatment records."""

"""One module per resource of /api/0."""

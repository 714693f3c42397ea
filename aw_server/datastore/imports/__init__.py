"""The SQL side of file import: jobs, the staging file, direct and windowed publishing."""

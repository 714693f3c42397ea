"""The modules aw-qt runs beside its server (the watchers): finding them, starting and
stopping their processes, and supervising them (restarts, crash reasons, pauses)."""

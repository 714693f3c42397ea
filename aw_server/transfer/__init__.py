"""Moving data in and out of the server: reading ActivityWatch's databases and JSON
exports for import, background import jobs and their uploads, CSV export, scheduled
backups, and the `aw-server import` / `export` commands.

The SQL side of an import (staging, publishing, resuming) is the datastore's; this
package reads sources and drives it. It imports the datastore and the models, never the
HTTP layer (`tests/test_layers.py`), and the datastore never imports it: the batch types
both share live in `aw_server.batches`.
"""

"""Event data stored once per distinct text (`event_data`), events referring to it by id.

A day of window events repeats a few hundred data texts thousands of times; storing each
text once, and a small integer per event, is most of what makes the database small
(docs/storage.md).

The key is the exact stored text: two texts are one row only when they are equal
character for character, so `{"a":1}` and `{"a":1.0}`, or two key orders, stay apart and
every event reads back byte-identical. A 64-bit hash of the text finds candidate rows
through a small index; the text itself is compared, so a hash collision only costs a
second row lookup.

Rows are never deleted, even when no event refers to them any more: a text left behind
by a deleted event is usually written again soon (a window title comes back), the
orphans of a whole deleted bucket are small next to its events, and never deleting keeps
every id an `DataInterner` remembers valid, in this process and in any other writing
the same file. Only a rolled-back transaction can take back an id, so `Database.write`
calls `forget()` when one does.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable

# Texts remembered per process: covers the few hundred of a day many times over, and
# bounds the memory of an import with a million distinct texts (about 1 MB).
REMEMBERED = 4096


def text_hash(text: str) -> int:
    """Stable across processes and versions (Python's `hash` of a str is not)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def find_or_add(conn: sqlite3.Connection, text: str) -> int:
    """The id of `text` in `event_data`, added if absent; inside a write transaction."""
    key = text_hash(text)
    for data_id, stored in conn.execute("SELECT id, text FROM event_data WHERE hash = ?",
                                        (key,)):
        if stored == text:
            return int(data_id)
    cur = conn.execute("INSERT INTO event_data (hash, text) VALUES (?, ?)", (key, text))
    return int(cur.lastrowid or 0)


def find_many(conn: sqlite3.Connection, texts: Iterable[str]) -> dict[str, int]:
    """The ids of those of `texts` already stored, in one query."""
    wanted = set(texts)
    hashes = json.dumps(sorted({text_hash(text) for text in wanted}))
    return {text: int(data_id) for data_id, text in conn.execute(
        "SELECT id, text FROM event_data WHERE hash IN (SELECT value FROM json_each(?))",
        (hashes,)) if text in wanted}


def add_many(conn: sqlite3.Connection, texts: list[str]) -> dict[str, int]:
    """Add `texts` (none of them stored, all distinct) with ids numbered on from the
    highest, in one statement; answer their ids."""
    if not texts:
        return {}
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM event_data").fetchone()
    ids = {text: int(top) + 1 + i for i, text in enumerate(texts)}
    conn.executemany("INSERT INTO event_data (id, hash, text) VALUES (?, ?, ?)",
                     [(data_id, text_hash(text), text) for text, data_id in ids.items()])
    return ids


class DataInterner:
    """Data ids of texts, remembered per process so a repeated text costs a dict lookup."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._ids: dict[str, int] = {}
        self._remembered = remembered

    def forget(self) -> None:
        """After a rollback: ids handed out in it may name no row any more."""
        self._ids.clear()

    def id_of(self, conn: sqlite3.Connection, text: str) -> int:
        """Only inside a write transaction (a new text is added)."""
        found = self._ids.get(text)
        if found is None:
            found = find_or_add(conn, text)
            if len(self._ids) >= self._remembered:
                self._ids.clear()
            self._ids[text] = found
        return found

    def ids_of(self, conn: sqlite3.Connection, texts: list[str]) -> list[int]:
        """`id_of` for many texts (a bulk insert): the ones not remembered are looked up
        with one query, and the new ones added with one statement."""
        remembered = self._ids
        missing = [text for text in dict.fromkeys(texts) if text not in remembered]
        if missing:
            found = find_many(conn, missing)
            found.update(add_many(conn, [text for text in missing if text not in found]))
            answer = [found.get(text) or remembered[text] for text in texts]
            if len(remembered) + len(found) > self._remembered:
                remembered.clear()
            if len(found) <= self._remembered:
                remembered.update(found)
            return answer
        return [remembered[text] for text in texts]

    def fill_map(self, conn: sqlite3.Connection, texts: Iterable[str]) -> None:
        """`temp.data_map` (text -> id) holds exactly `texts`: for statements that copy
        rows from another table in SQL (import publishing), which look each text up
        there instead of calling back into Python per row."""
        pairs = [(text, self.id_of(conn, text)) for text in texts]
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS data_map "
                     "(text TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID")
        conn.execute("DELETE FROM temp.data_map")
        conn.executemany("INSERT OR IGNORE INTO temp.data_map (text, id) VALUES (?, ?)",
                         pairs)


# What readers of whole events select from: each event with its data text as `d.text`.
EVENTS_WITH_TEXT = "event e JOIN event_data d ON d.id = e.data_id"

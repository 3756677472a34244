"""SQLite persistence of instances, history, inbox messages and activity work items.

Everything an episode changes is written in ONE transaction (history append, consumed
messages removed, new work items / timers / child instances / messages to other
instances inserted, instance row updated), so a kill -9 at any point leaves a state from
which the engine can simply carry on: messages still in the inbox are processed again,
work items still in the table are run again (at-least-once, like DTFx).

Timers are inbox messages whose ``visible_at`` lies in the future (DTFx delays timer
messages the same way), so they persist with their fire time.

The store is used from the host's single worker event loop thread only.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    failure_details TEXT,
    custom_status TEXT,
    created_time REAL NOT NULL,
    last_updated_time REAL NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
);
CREATE TABLE IF NOT EXISTS inbox (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    visible_at REAL NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox(instance_id, visible_at);
CREATE TABLE IF NOT EXISTS work_items (
    work_item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_scheduled_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
"""


@dataclass
class InstanceRow:
    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    output: str | None
    failure_details: str | None
    custom_status: str | None
    created_time: float
    last_updated_time: float
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None
    generation: int


@dataclass
class Message:
    message_id: int
    instance_id: str
    execution_id: str | None
    visible_at: float
    event: dict


@dataclass
class WorkItem:
    work_item_id: int
    instance_id: str
    execution_id: str
    task_scheduled_id: int
    name: str
    input: str | None


@dataclass
class NewMessage:
    """A message to insert into some instance's inbox."""

    instance_id: str
    event: dict
    visible_at: float
    execution_id: str | None = None


@dataclass
class NewWorkItem:
    instance_id: str
    execution_id: str
    task_scheduled_id: int
    name: str
    input: str | None


class Store:
    def __init__(self, path: str):
        self.path = path
        if path != ":memory:":
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- transactions ---------------------------------------------------------------
    def transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- instances --------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRow | None:
        row = self._db.execute("SELECT * FROM instances WHERE instance_id = ?",
                               (instance_id,)).fetchone()
        return InstanceRow(**dict(row)) if row else None

    def query_instances(self, *, statuses: Iterable[str] | None = None,
                        created_from: float | None = None,
                        created_to: float | None = None,
                        prefix: str | None = None,
                        limit: int | None = None) -> list[InstanceRow]:
        sql = "SELECT * FROM instances WHERE 1=1"
        args: list = []
        if statuses:
            statuses = list(statuses)
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        if created_from is not None:
            sql += " AND created_time >= ?"
            args.append(created_from)
        if created_to is not None:
            sql += " AND created_time <= ?"
            args.append(created_to)
        if prefix:
            sql += " AND substr(instance_id, 1, ?) = ?"
            args += [len(prefix), prefix]
        sql += " ORDER BY created_time, instance_id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [InstanceRow(**dict(r)) for r in self._db.execute(sql, args).fetchall()]

    def put_instance(self, tx: _Transaction, row: InstanceRow) -> None:
        fields = row.__dict__
        columns = ", ".join(fields)
        tx.execute(f"INSERT OR REPLACE INTO instances ({columns}) VALUES "
                   f"({', '.join('?' * len(fields))})", list(fields.values()))

    def update_instance(self, tx: _Transaction, instance_id: str, **changes) -> None:
        assignments = ", ".join(f"{k} = ?" for k in changes)
        tx.execute(f"UPDATE instances SET {assignments} WHERE instance_id = ?",
                   [*changes.values(), instance_id])

    def delete_instance(self, tx: _Transaction, instance_id: str) -> None:
        for table in ("instances", "history", "inbox", "work_items"):
            tx.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    def clear_execution_state(self, tx: _Transaction, instance_id: str) -> None:
        """Drop history, pending messages and work items (new execution or overwrite)."""
        for table in ("history", "inbox", "work_items"):
            tx.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    # -- history ----------------------------------------------------------------------
    def get_history(self, instance_id: str) -> list[dict]:
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY position",
            (instance_id,)).fetchall()
        return [json.loads(r["event"]) for r in rows]

    def append_history(self, tx: _Transaction, instance_id: str, events: list[dict]) -> None:
        start = self._db.execute(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM history WHERE instance_id = ?",
            (instance_id,)).fetchone()[0]
        tx.executemany(
            "INSERT INTO history (instance_id, position, event) VALUES (?, ?, ?)",
            [(instance_id, start + i, json.dumps(e)) for i, e in enumerate(events)])

    def clear_history(self, tx: _Transaction, instance_id: str) -> None:
        tx.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    # -- inbox ------------------------------------------------------------------------
    def add_messages(self, tx: _Transaction, messages: Iterable[NewMessage]) -> None:
        tx.executemany(
            "INSERT INTO inbox (instance_id, execution_id, visible_at, event) "
            "VALUES (?, ?, ?, ?)",
            [(m.instance_id, m.execution_id, m.visible_at, json.dumps(m.event))
             for m in messages])

    def messages(self, instance_id: str, visible_before: float | None = None
                 ) -> list[Message]:
        sql = "SELECT * FROM inbox WHERE instance_id = ?"
        args: list = [instance_id]
        if visible_before is not None:
            sql += " AND visible_at <= ?"
            args.append(visible_before)
        sql += " ORDER BY message_id"
        return [Message(r["message_id"], r["instance_id"], r["execution_id"],
                        r["visible_at"], json.loads(r["event"]))
                for r in self._db.execute(sql, args).fetchall()]

    def delete_messages(self, tx: _Transaction, message_ids: Iterable[int]) -> None:
        tx.executemany("DELETE FROM inbox WHERE message_id = ?",
                       [(m,) for m in message_ids])

    def instances_with_messages(self) -> list[tuple]:
        """(instance_id, earliest visible_at) for every instance with pending messages."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT instance_id, MIN(visible_at) FROM inbox GROUP BY instance_id")]

    def future_messages(self, after: float) -> list[tuple]:
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT instance_id, visible_at FROM inbox WHERE visible_at > ?", (after,))]

    # -- work items -------------------------------------------------------------------
    def add_work_items(self, tx: _Transaction, items: Iterable[NewWorkItem]) -> list[int]:
        ids: list[int] = []
        for item in items:
            cursor = tx.execute(
                "INSERT INTO work_items (instance_id, execution_id, task_scheduled_id, name, "
                "input) VALUES (?, ?, ?, ?, ?)",
                (item.instance_id, item.execution_id, item.task_scheduled_id, item.name,
                 item.input))
            assert cursor.lastrowid is not None  # set by every successful INSERT
            ids.append(cursor.lastrowid)
        return ids

    def get_work_item(self, work_item_id: int) -> WorkItem | None:
        row = self._db.execute("SELECT * FROM work_items WHERE work_item_id = ?",
                               (work_item_id,)).fetchone()
        return WorkItem(**dict(row)) if row else None

    def all_work_items(self) -> list[WorkItem]:
        return [WorkItem(**dict(r)) for r in self._db.execute(
            "SELECT * FROM work_items ORDER BY work_item_id").fetchall()]

    def complete_work_item(self, work_item_id: int, result: NewMessage) -> bool:
        """Atomically remove the work item and post its result. False if already done."""
        with self.transaction() as tx:
            cursor = tx.execute("DELETE FROM work_items WHERE work_item_id = ?",
                                (work_item_id,))
            if cursor.rowcount == 0:
                return False
            self.add_messages(tx, [result])
            return True

    def delete_work_items(self, tx: _Transaction, instance_id: str) -> None:
        tx.execute("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))


class _Transaction:
    """``with store.transaction() as tx:`` — BEGIN IMMEDIATE, COMMIT or ROLLBACK."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> _Transaction:
        self._db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._db.executemany(sql, rows)

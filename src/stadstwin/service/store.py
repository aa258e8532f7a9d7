"""SQLite persistence of the service: API tokens, variants and plans with versions, jobs and the audit log.

Every write runs in one transaction, so a crash never leaves half a change. Tokens are stored as
SHA-256 digests only. The store is shared by the request threads and the job workers; one lock
serialises access to its connection.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, organisation TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('read', 'edit')), created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    scene TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (scene, id));
CREATE TABLE IF NOT EXISTS plans (
    scene TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (scene, id));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, process TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
    organisation TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, result TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, organisation TEXT NOT NULL,
    token_name TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
"""

ROLES = ("read", "edit")
#: Most variant versions whose latest results are kept between two changes of the database.
_LATEST_KEPT = 1024
#: Job inputs only their submitter may see, left out of the audit log: the plan register as it saw it.
PRIVATE_INPUTS = ("plans_body",)
JOB_STATES = ("accepted", "running", "successful", "failed", "dismissed")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def digest(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name, its organisation and role."""

    name: str
    organisation: str
    role: str

    @property
    def can_edit(self) -> bool:
        return self.role == "edit"


@dataclass(frozen=True)
class StoredVariant:
    """A variant (or a plan of the register) as stored: its JSON body and version (the ETag)."""

    scene: str
    id: str
    version: int
    body: dict[str, Any]
    updated: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@dataclass(frozen=True)
class Job:
    """A process execution with its inputs, state and (when successful) result JSON."""

    id: str
    process: str
    inputs: dict[str, Any]
    status: str
    progress: int
    message: str
    attempts: int
    organisation: str
    created: str
    updated: str
    result: dict[str, Any] | None


#: A stored plan of a scene's register: its body is the plan's GeoJSON feature (``io.plan_register``).
StoredPlan = StoredVariant

#: Versioned documents per scene: table name → what the audit log calls one.
_KINDS = {"variants": "variant", "plans": "plan"}


class VersionConflict(Exception):
    """The stored version differs from the one the client edited (HTTP 412)."""

    def __init__(self, current: StoredVariant | None) -> None:
        self.current = current
        super().__init__("the document was changed by someone else")


class Store:
    """The service database at ``path`` (created with its tables when new)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._writes = 0  # transactions committed through this connection
        self._latest: tuple[tuple[int, int], dict[tuple[str, str, int], list[Job]]] = ((-1, -1), {})

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # tokens ---------------------------------------------------------------------------------
    def add_token(self, organisation: str, name: str, role: str, token: str | None = None) -> str:
        """Create a token for ``organisation`` with ``role``; returns the token (shown once)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        token = token or secrets.token_urlsafe(24)
        with self._transaction() as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)", (digest(token), name, organisation, role, now()))
        return token

    def has_tokens(self) -> bool:
        return bool(self._query("SELECT 1 FROM tokens LIMIT 1"))

    def principal(self, token: str) -> Principal | None:
        """The owner of ``token``, or None when it is unknown."""
        rows = self._query("SELECT name, organisation, role FROM tokens WHERE digest = ?", (digest(token),))
        return Principal(rows[0]["name"], rows[0]["organisation"], rows[0]["role"]) if rows else None

    # variants and plans: versioned documents per scene --------------------------------------
    @staticmethod
    def _variant(row: sqlite3.Row) -> StoredVariant:
        return StoredVariant(row["scene"], row["id"], row["version"], json.loads(row["body"]), row["updated"])

    def _seed(self, table: str, scene: str, did: str, body: dict[str, Any]) -> bool:
        with self._transaction() as db:
            cursor = db.execute(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, 1, 0, ?, ?)",
                                (scene, did, json.dumps(body), now()))
            return cursor.rowcount == 1

    def _all(self, table: str, scene: str) -> list[StoredVariant]:
        rows = self._query(f"SELECT * FROM {table} WHERE scene = ? AND deleted = 0 ORDER BY id", (scene,))
        return [self._variant(r) for r in rows]

    def _one(self, table: str, scene: str, did: str) -> StoredVariant | None:
        rows = self._query(f"SELECT * FROM {table} WHERE scene = ? AND id = ? AND deleted = 0", (scene, did))
        return self._variant(rows[0]) if rows else None

    def _create(self, table: str, scene: str, did: str, body: dict[str, Any], who: Principal,
                audited: tuple[str, dict[str, Any]] | None = None) -> StoredVariant | None:
        """Store a new document; ``audited`` (id, body) is what the audit log shows instead of the real ones."""
        shown, shown_body = audited or (did, body)
        with self._transaction() as db:
            row = db.execute(f"SELECT version, deleted FROM {table} WHERE scene = ? AND id = ?", (scene, did)).fetchone()
            if row is not None and not row["deleted"]:
                return None
            version = 1 if row is None else row["version"] + 1
            db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, 0, ?, ?)",
                       (scene, did, version, json.dumps(body), now()))
            self._audit(db, who, f"create {_KINDS[table]}", f"{scene}/{shown}", {"version": version, "body": shown_body})
        return self._one(table, scene, did)

    def _current(self, db: sqlite3.Connection, table: str, scene: str, did: str, expected: int) -> None:
        row = db.execute(f"SELECT * FROM {table} WHERE scene = ? AND id = ? AND deleted = 0", (scene, did)).fetchone()
        if row is None or row["version"] != expected:
            raise VersionConflict(None if row is None else self._variant(row))

    def _update(self, table: str, scene: str, did: str, body: dict[str, Any], expected: int,
                who: Principal, audited: tuple[str, dict[str, Any]] | None = None) -> StoredVariant:
        shown, shown_body = audited or (did, body)
        with self._transaction() as db:
            self._current(db, table, scene, did, expected)
            db.execute(f"UPDATE {table} SET version = ?, body = ?, updated = ? WHERE scene = ? AND id = ?",
                       (expected + 1, json.dumps(body), now(), scene, did))
            self._audit(db, who, f"update {_KINDS[table]}", f"{scene}/{shown}",
                        {"version": expected + 1, "body": shown_body})
        return self._one(table, scene, did)  # type: ignore[return-value]

    def _delete(self, table: str, scene: str, did: str, expected: int, who: Principal, shown: str | None = None) -> None:
        with self._transaction() as db:
            self._current(db, table, scene, did, expected)
            db.execute(f"UPDATE {table} SET version = ?, deleted = 1, updated = ? WHERE scene = ? AND id = ?",
                       (expected + 1, now(), scene, did))
            self._audit(db, who, f"delete {_KINDS[table]}", f"{scene}/{shown or did}", {"version": expected})

    def seed_variant(self, scene: str, body: dict[str, Any]) -> bool:
        """Store a variant from a file unless the id was ever stored (edits and deletions win)."""
        return self._seed("variants", scene, body["id"], body)

    def variants(self, scene: str) -> list[StoredVariant]:
        return self._all("variants", scene)

    def variant(self, scene: str, vid: str) -> StoredVariant | None:
        return self._one("variants", scene, vid)

    def create_variant(self, scene: str, body: dict[str, Any], who: Principal) -> StoredVariant | None:
        """Store a new variant (version after any deleted one of that id); None when the id is taken."""
        return self._create("variants", scene, body["id"], body, who)

    def update_variant(self, scene: str, vid: str, body: dict[str, Any], expected: int, who: Principal) -> StoredVariant:
        """Replace a variant if its stored version is ``expected``; raises VersionConflict otherwise."""
        return self._update("variants", scene, vid, body, expected, who)

    def delete_variant(self, scene: str, vid: str, expected: int, who: Principal) -> None:
        """Mark a variant deleted if its stored version is ``expected``; raises VersionConflict otherwise."""
        self._delete("variants", scene, vid, expected, who)

    def seed_plan(self, scene: str, feature: dict[str, Any]) -> bool:
        """Store a plan of the scene's register file unless its id was ever stored (edits and deletions win)."""
        return self._seed("plans", scene, feature["properties"]["id"], feature)

    def plans(self, scene: str) -> list[StoredPlan]:
        return self._all("plans", scene)

    def plan(self, scene: str, pid: str) -> StoredPlan | None:
        return self._one("plans", scene, pid)

    def create_plan(self, scene: str, feature: dict[str, Any], who: Principal,
                    audited: dict[str, Any]) -> StoredPlan | None:
        """Store a new plan (its GeoJSON feature; the audit log records ``audited``, the plan as every
        editor may see it); None when the id is taken."""
        return self._create("plans", scene, feature["properties"]["id"], feature, who,
                            (audited["properties"]["id"], audited))

    def update_plan(self, scene: str, pid: str, feature: dict[str, Any], expected: int, who: Principal,
                    audited: dict[str, Any]) -> StoredPlan:
        """Replace a plan if its stored version is ``expected`` (the audit log records ``audited``);
        raises VersionConflict otherwise."""
        return self._update("plans", scene, pid, feature, expected, who, (audited["properties"]["id"], audited))

    def delete_plan(self, scene: str, pid: str, expected: int, who: Principal, audited_id: str) -> None:
        """Mark a plan deleted if its stored version is ``expected`` (the audit log names ``audited_id``);
        raises VersionConflict otherwise."""
        self._delete("plans", scene, pid, expected, who, audited_id)

    # jobs -----------------------------------------------------------------------------------
    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(row["id"], row["process"], json.loads(row["inputs"]), row["status"], row["progress"],
                   row["message"], row["attempts"], row["organisation"], row["created"], row["updated"],
                   None if row["result"] is None else json.loads(row["result"]))

    def create_job(self, process: str, inputs: dict[str, Any], who: Principal) -> Job:
        job_id = secrets.token_hex(12)
        with self._transaction() as db:
            stamp = now()
            db.execute("INSERT INTO jobs (id, process, inputs, status, organisation, created, updated) "
                       "VALUES (?, ?, ?, 'accepted', ?, ?, ?)",
                       (job_id, process, json.dumps(inputs), who.organisation, stamp, stamp))
            self._audit(db, who, "execute process", f"{process}/{job_id}",
                        {"inputs": {k: v for k, v in inputs.items() if k not in PRIVATE_INPUTS}})
        return self.job(job_id)  # type: ignore[return-value]

    def job(self, job_id: str) -> Job | None:
        rows = self._query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._job(rows[0]) if rows else None

    def jobs(self, *, status: tuple[str, ...] = JOB_STATES) -> list[Job]:
        marks = ",".join("?" * len(status))
        rows = self._query(f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY created, id", status)
        return [self._job(r) for r in rows]

    def set_job(self, job_id: str, *, status: str | None = None, progress: int | None = None,
                message: str | None = None, result: dict[str, Any] | None = None, attempt: bool = False,
                when: tuple[str, ...] = JOB_STATES) -> bool:
        """Update a job's state if its status is one of ``when``; only the given fields change.

        Returns whether the job was updated (a dismissed job keeps its state when its run ends).
        """
        sets, args = ["updated = ?"], [now()]
        for column, value in (("status", status), ("progress", progress), ("message", message)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if result is not None:
            sets.append("result = ?")
            args.append(json.dumps(result))
        if attempt:
            sets.append("attempts = attempts + 1")
        marks = ",".join("?" * len(when))
        with self._transaction() as db:
            cursor = db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND status IN ({marks})",
                                (*args, job_id, *when))
            return cursor.rowcount == 1

    def dismiss_job(self, job_id: str, who: Principal) -> bool:
        """Dismiss a job that is accepted or running; False when it had already ended."""
        with self._transaction() as db:
            cursor = db.execute("UPDATE jobs SET status = 'dismissed', message = ?, updated = ? "
                                "WHERE id = ? AND status IN ('accepted', 'running')",
                                (f"dismissed by {who.name} ({who.organisation})", now(), job_id))
            if cursor.rowcount:
                self._audit(db, who, "dismiss job", job_id, {})
            return cursor.rowcount == 1

    def _stamp(self) -> tuple[int, int]:
        """Changes whenever the database does: this connection's commits and (``PRAGMA data_version``)
        those of any other connection or process."""
        with self._lock:
            return self._writes, self._db.execute("PRAGMA data_version").fetchone()[0]

    def latest_results(self, scene: str, variant: str, version: int) -> list[Job]:
        """The newest successful analysis job per process for one variant version (read again only after
        the database changed: a viewer asks for it with every results, overlay and findings read)."""
        stamp = self._stamp()
        kept_stamp, kept = self._latest
        if kept_stamp == stamp and (scene, variant, version) in kept:
            return list(kept[scene, variant, version])
        rows = self._query(
            "SELECT * FROM jobs WHERE status = 'successful' AND json_extract(inputs, '$.scene') = ? "
            "AND json_extract(inputs, '$.variant') = ? AND json_extract(inputs, '$.variant_version') = ? "
            "ORDER BY updated DESC, id", (scene, variant, version))
        newest: dict[str, Job] = {}
        for row in rows:
            newest.setdefault(row["process"], self._job(row))
        jobs = list(newest.values())
        kept = kept if kept_stamp == stamp and len(kept) < _LATEST_KEPT else {}
        kept[scene, variant, version] = jobs
        self._latest = stamp, kept
        return list(jobs)

    # audit ----------------------------------------------------------------------------------
    @staticmethod
    def _audit(db: sqlite3.Connection, who: Principal, action: str, target: str, detail: dict[str, Any]) -> None:
        db.execute("INSERT INTO audit (at, organisation, token_name, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (now(), who.organisation, who.name, action, target, json.dumps(detail)))

    def audit(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""
        rows = self._query("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
        return [{"seq": r["seq"], "at": r["at"], "organisation": r["organisation"], "token": r["token_name"],
                 "action": r["action"], "target": r["target"], "detail": json.loads(r["detail"])} for r in rows]

"""The schema as named migrations, applied in order and recorded in the ``migrations`` table.

A migration keeps its name and its effect forever: a database made by any earlier version is brought up to date
by applying the ones it has not recorded. New ones go at the end.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE paintings (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            artist TEXT NOT NULL,
            year INTEGER,
            artist_died INTEGER,
            genre TEXT,
            style TEXT,
            image_path TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            description TEXT,
            is_portrait INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL
        );
        CREATE INDEX paintings_portrait ON paintings(is_portrait);
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL DEFAULT 'RUNNING',
            seed INTEGER,
            languages TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            painting_id INTEGER NOT NULL REFERENCES paintings(id),
            position INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'PENDING',
            reason TEXT NOT NULL DEFAULT '',
            redo_from INTEGER,
            updated_at REAL NOT NULL,
            UNIQUE(batch_id, painting_id)
        );
        CREATE INDEX items_painting ON items(painting_id);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            step INTEGER NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            number INTEGER NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            backend TEXT NOT NULL DEFAULT '',
            degraded INTEGER NOT NULL DEFAULT 0,
            resource TEXT NOT NULL DEFAULT '',
            queue_wait REAL,
            compute REAL,
            remote_id TEXT,
            superseded INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX attempts_unit ON attempts(item_id, step, language);
        CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            step INTEGER NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            created_at REAL NOT NULL,
            superseded INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX artifacts_item ON artifacts(item_id, step, language, kind);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            batch_id INTEGER,
            item_id INTEGER,
            kind TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE transitions (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            at REAL NOT NULL,
            old TEXT NOT NULL,
            new TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        "0002_review_publish",
        """
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            decision TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            note TEXT NOT NULL DEFAULT '',
            redo_from INTEGER,
            at REAL NOT NULL
        );
        CREATE INDEX reviews_item ON reviews(item_id);
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            platform TEXT NOT NULL,
            language TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'QUEUED',
            day TEXT NOT NULL,
            slot INTEGER NOT NULL DEFAULT 0,
            due_at REAL NOT NULL,
            next_try_at REAL,
            upload_ref TEXT NOT NULL DEFAULT '{}',
            remote_id TEXT,
            url TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            posted_at REAL,
            UNIQUE(item_id, platform, language)
        );
        CREATE INDEX posts_day ON posts(day, platform, language)
        """,
    ),
    (
        "0003_attempt_endpoint",
        """
        ALTER TABLE attempts ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''
        """,
    ),
    (
        "0004_painting_title_fr_gender",
        """
        ALTER TABLE paintings ADD COLUMN title_fr TEXT;
        ALTER TABLE paintings ADD COLUMN gender TEXT
        """,
    ),
    (
        "0005_batch_lease",
        """
        CREATE TABLE leases (
            batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
            owner TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_start TEXT NOT NULL DEFAULT '',
            command TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL
        )
        """,
    ),
]

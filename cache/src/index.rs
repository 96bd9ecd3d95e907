//! The cache index: an SQLite database (WAL) of snapshots, cache records, exported
//! layers, chain ids, image tags and the context stat cache.
//!
//! Every change that must appear atomically (a snapshot committed together with its
//! cache record) is one transaction. Two kiln processes may write at once: WAL plus a
//! busy timeout serialises them without losing rows.

use crate::error::{CacheError, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Version of [`SCHEMA`], kept in SQLite's `user_version`.
/// Version 2 added `layer_diffs` and `layer_blobs`, version 3 `blob_sources` and
/// `pushed` (created on open, nothing else changes).
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS snapshots (
    id TEXT PRIMARY KEY,
    parent TEXT,
    state TEXT NOT NULL,
    created INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    empty INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cache_records (
    key TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL,
    description TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS layers (
    snapshot TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_diffs (
    snapshot TEXT NOT NULL,
    epoch TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (snapshot, epoch)
);
CREATE INDEX IF NOT EXISTS layer_diffs_by_diff_id ON layer_diffs (diff_id);
CREATE TABLE IF NOT EXISTS layer_blobs (
    diff_id TEXT NOT NULL,
    compression TEXT NOT NULL,
    level INTEGER NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (diff_id, compression, level)
);
CREATE TABLE IF NOT EXISTS chains (
    chain_id TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    name TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_size INTEGER NOT NULL,
    config_digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_sources (
    digest TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
);
CREATE TABLE IF NOT EXISTS pushed (
    repository TEXT NOT NULL,
    config_digest TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    PRIMARY KEY (repository, config_digest, manifest_digest)
);
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY,
    stat TEXT NOT NULL,
    digest TEXT NOT NULL
);
";

/// A snapshot's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub id: String,
    pub parent: Option<String>,
    pub committed: bool,
    pub created: i64,
    pub size: u64,
    /// The snapshot's upper dir holds no change: it adds no layer.
    pub empty: bool,
}

/// A cache record: a step's cache key and the committed snapshot it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecord {
    pub key: String,
    pub snapshot: String,
    /// The instruction text, e.g. `RUN make`.
    pub description: String,
    pub created: i64,
    pub last_used: i64,
}

/// What committing a step does when another process committed the same cache key
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// The first record wins: the new snapshot is dropped and the step uses the
    /// winner's, so every image and child step shares one snapshot per key.
    KeepFirst,
    /// The new record replaces the old one (`--no-cache`: the step ran on purpose).
    Replace,
}

/// A cache record joined with its snapshot's size, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecordInfo {
    pub record: CacheRecord,
    pub size: u64,
}

/// The layer exported from a committed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    pub diff_id: String,
    pub digest: String,
    pub size: u64,
    pub media_type: String,
}

/// A tagged image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub name: String,
    pub manifest_digest: String,
    pub manifest_size: u64,
    pub config_digest: String,
    /// Sum of the compressed layer sizes.
    pub size: u64,
    pub created: i64,
}

/// The cache index database.
#[derive(Debug)]
pub struct Index {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Index {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let err = |source| CacheError::Index {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(err)?;
        // The WAL is durable: leave checkpoints to SQLite's automatic ones instead of
        // paying for one (and its fsyncs) every time a kiln process exits.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(err)?;
        if version != SCHEMA_VERSION {
            conn.execute_batch(&format!(
                "PRAGMA journal_mode=WAL; BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(err)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent: reuse it.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One row (or none) of a cached prepared statement.
    fn query_one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        stmt.query_row(params, map)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Runs a cached prepared statement that returns no rows.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        stmt.execute(params).map(drop).map_err(|e| self.err(e))
    }

    fn err(&self, source: rusqlite::Error) -> CacheError {
        CacheError::Index {
            path: self.path.clone(),
            source,
        }
    }

    /// Runs `f` in one transaction.
    fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let out = f(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Copies the write-ahead log into the database and truncates it, giving its disk
    /// space back (prune, which holds the state root alone, calls it at the end).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    // --- snapshots ---

    /// Records a new active snapshot.
    pub fn insert_active_snapshot(&self, id: &str, parent: Option<&str>, now: i64) -> Result<()> {
        self.exec(
            "INSERT INTO snapshots (id, parent, state, created) VALUES (?1, ?2, 'active', ?3)",
            params![id, parent, now],
        )
    }

    /// Marks a snapshot committed (one that no cache record names: an image layer).
    pub fn commit_snapshot(&self, id: &str, size: u64, empty: bool) -> Result<()> {
        self.transaction(|tx| mark_committed(tx, id, size, empty))
    }

    /// Commits the snapshot `record.snapshot` together with the cache record of the
    /// step that produced it, in one transaction, and returns the snapshot the key's
    /// record names afterwards. When another process committed the key first and
    /// `on_conflict` keeps the first record, that is the winner's snapshot: the new
    /// snapshot's row is deleted instead (the caller removes its dir).
    pub fn commit_step(
        &self,
        record: &CacheRecord,
        size: u64,
        empty: bool,
        on_conflict: OnConflict,
    ) -> Result<String> {
        self.transaction(|tx| {
            // The transaction is IMMEDIATE: it holds the write lock from its start, so
            // no other process can commit the key between this read and the writes.
            let winner: Option<String> = tx
                .query_row(
                    "SELECT r.snapshot FROM cache_records r JOIN snapshots s ON s.id = r.snapshot
                     WHERE r.key = ?1 AND s.state = 'committed'",
                    params![record.key],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(winner) = winner
                && on_conflict == OnConflict::KeepFirst
            {
                tx.execute(
                    "DELETE FROM snapshots WHERE id = ?1",
                    params![record.snapshot],
                )?;
                return Ok(winner);
            }
            mark_committed(tx, &record.snapshot, size, empty)?;
            tx.execute(
                "INSERT OR REPLACE INTO cache_records (key, snapshot, description, created, last_used)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    record.key,
                    record.snapshot,
                    record.description,
                    record.created,
                    record.last_used
                ],
            )?;
            Ok(record.snapshot.clone())
        })
    }

    /// Deletes a snapshot row (its dir must be gone already).
    pub fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.exec("DELETE FROM snapshots WHERE id = ?1", params![id])
    }

    /// A snapshot's row.
    pub fn snapshot(&self, id: &str) -> Result<Option<SnapshotRow>> {
        self.query_one(
            "SELECT id, parent, state, created, size, empty FROM snapshots WHERE id = ?1",
            params![id],
            snapshot_row,
        )
    }

    /// Every snapshot row.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, parent, state, created, size, empty FROM snapshots")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], snapshot_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    // --- cache records ---

    /// The cache record for `key` whose snapshot is committed, and whether that
    /// snapshot is empty. Read-only: hits are marked used in one batch by
    /// [`Index::touch_records`].
    pub fn lookup_record(&self, key: &str) -> Result<Option<(CacheRecord, bool)>> {
        self.query_one(
            "SELECT r.key, r.snapshot, r.description, r.created, r.last_used, s.empty
                 FROM cache_records r JOIN snapshots s ON s.id = r.snapshot
                 WHERE r.key = ?1 AND s.state = 'committed'",
            params![key],
            |row| Ok((record_row(row)?, row.get(5)?)),
        )
    }

    /// Whether some cache record produced `snapshot` (it was built, not unpacked
    /// from an image).
    pub fn is_built_snapshot(&self, snapshot: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT 1 FROM cache_records WHERE snapshot = ?1 LIMIT 1",
                params![snapshot],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// Marks the records of `keys` used at `now`, in one transaction.
    pub fn touch_records(&self, keys: &[String], now: i64) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.transaction(|tx| {
            let mut stmt = tx.prepare("UPDATE cache_records SET last_used = ?2 WHERE key = ?1")?;
            for key in keys {
                stmt.execute(params![key, now])?;
            }
            Ok(())
        })
    }

    /// All cache records with their snapshot sizes, most recently used first.
    pub fn records(&self) -> Result<Vec<CacheRecordInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT r.key, r.snapshot, r.description, r.created, r.last_used, s.size
                 FROM cache_records r JOIN snapshots s ON s.id = r.snapshot
                 ORDER BY r.last_used DESC, r.created DESC, r.key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(CacheRecordInfo {
                    record: record_row(row)?,
                    size: row.get::<_, i64>(5)? as u64,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Every cache record as stored, whether or not its snapshot exists (for GC).
    pub fn all_records(&self) -> Result<Vec<CacheRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, snapshot, description, created, last_used FROM cache_records",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], record_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Deletes, in one transaction, the cache records `keys` and the snapshots `ids`
    /// with everything that names them: their records, layers and chain ids. Call it
    /// before removing the snapshots' dirs, so no row ever points at a missing dir.
    pub fn remove_records_and_snapshots(&self, keys: &[String], ids: &[String]) -> Result<()> {
        if keys.is_empty() && ids.is_empty() {
            return Ok(());
        }
        self.transaction(|tx| {
            let mut record = tx.prepare_cached("DELETE FROM cache_records WHERE key = ?1")?;
            for key in keys {
                record.execute(params![key])?;
            }
            for sql in [
                "DELETE FROM cache_records WHERE snapshot = ?1",
                "DELETE FROM layers WHERE snapshot = ?1",
                "DELETE FROM layer_diffs WHERE snapshot = ?1",
                "DELETE FROM chains WHERE snapshot = ?1",
                "DELETE FROM snapshots WHERE id = ?1",
            ] {
                let mut stmt = tx.prepare_cached(sql)?;
                for id in ids {
                    stmt.execute(params![id])?;
                }
            }
            Ok(())
        })
    }

    // --- layers and chains ---

    /// Every chain id with the snapshot holding its filesystem.
    pub fn chains(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT chain_id, snapshot FROM chains")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The layer exported from `snapshot`, if any.
    pub fn layer(&self, snapshot: &str) -> Result<Option<LayerRow>> {
        self.query_one(
            "SELECT diff_id, digest, size, media_type FROM layers WHERE snapshot = ?1",
            params![snapshot],
            |row| {
                Ok(LayerRow {
                    diff_id: row.get(0)?,
                    digest: row.get(1)?,
                    size: row.get::<_, i64>(2)? as u64,
                    media_type: row.get(3)?,
                })
            },
        )
    }

    /// Records the layer of `snapshot`.
    pub fn insert_layer(&self, snapshot: &str, layer: &LayerRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO layers (snapshot, diff_id, digest, size, media_type)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                snapshot,
                layer.diff_id,
                layer.digest,
                layer.size as i64,
                layer.media_type
            ],
        )
    }

    /// The uncompressed layer of built `snapshot` written with mtimes clamped to `epoch`:
    /// its diff id and size.
    pub fn layer_diff(&self, snapshot: &str, epoch: Option<i64>) -> Result<Option<(String, u64)>> {
        self.query_one(
            "SELECT diff_id, size FROM layer_diffs WHERE snapshot = ?1 AND epoch = ?2",
            params![snapshot, epoch_key(epoch)],
            |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)),
        )
    }

    /// Records the uncompressed layer of built `snapshot` written with `epoch`.
    pub fn insert_layer_diff(
        &self,
        snapshot: &str,
        epoch: Option<i64>,
        diff_id: &str,
        size: u64,
    ) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO layer_diffs (snapshot, epoch, diff_id, size)
                 VALUES (?1, ?2, ?3, ?4)",
            params![snapshot, epoch_key(epoch), diff_id, size as i64],
        )
    }

    /// A committed snapshot, and the epoch, whose layer has `diff_id`.
    pub fn layer_diff_source(&self, diff_id: &str) -> Result<Option<(String, Option<i64>)>> {
        let found: Option<(String, String)> = self.query_one(
            "SELECT d.snapshot, d.epoch FROM layer_diffs d JOIN snapshots s ON s.id = d.snapshot
                 WHERE d.diff_id = ?1 AND s.state = 'committed' LIMIT 1",
            params![diff_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(found.map(|(snapshot, epoch)| (snapshot, epoch.parse().ok())))
    }

    /// The blob holding the layer `diff_id` compressed with `compression` at `level`:
    /// its digest and size.
    pub fn layer_blob(
        &self,
        diff_id: &str,
        compression: &str,
        level: i32,
    ) -> Result<Option<(String, u64)>> {
        self.query_one(
            "SELECT digest, size FROM layer_blobs
                 WHERE diff_id = ?1 AND compression = ?2 AND level = ?3",
            params![diff_id, compression, level],
            |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)),
        )
    }

    /// Every compressed blob made of the layer `diff_id`.
    pub fn layer_blob_digests(&self, diff_id: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT digest FROM layer_blobs WHERE diff_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![diff_id], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records the blob of the layer `diff_id` compressed with `compression` at `level`.
    pub fn insert_layer_blob(
        &self,
        diff_id: &str,
        compression: &str,
        level: i32,
        digest: &str,
        size: u64,
    ) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO layer_blobs (diff_id, compression, level, digest, size)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![diff_id, compression, level, digest, size as i64],
        )
    }

    /// Records that the registry `registry` has the blob `digest` in `repository`.
    pub fn insert_blob_source(&self, digest: &str, registry: &str, repository: &str) -> Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO blob_sources (digest, registry, repository) VALUES (?1, ?2, ?3)",
            params![digest, registry, repository],
        )
    }

    /// The repositories of `registry` known to have the blob `digest`, sorted.
    pub fn blob_sources(&self, digest: &str, registry: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT repository FROM blob_sources WHERE digest = ?1 AND registry = ?2
                     ORDER BY repository",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![digest, registry], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records that the image `config_digest` was pushed to `repository`
    /// (`registry/path`) as the manifest `manifest_digest`.
    pub fn insert_pushed(
        &self,
        repository: &str,
        config_digest: &str,
        manifest_digest: &str,
    ) -> Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO pushed (repository, config_digest, manifest_digest)
                 VALUES (?1, ?2, ?3)",
            params![repository, config_digest, manifest_digest],
        )
    }

    /// Every (repository, manifest digest) the image `config_digest` was pushed as.
    pub fn pushed(&self, config_digest: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT repository, manifest_digest FROM pushed WHERE config_digest = ?1
                     ORDER BY repository, manifest_digest",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![config_digest], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The committed snapshot holding the filesystem of a chain id.
    pub fn chain_snapshot(&self, chain_id: &str) -> Result<Option<String>> {
        self.query_one(
            "SELECT c.snapshot FROM chains c JOIN snapshots s ON s.id = c.snapshot
                 WHERE c.chain_id = ?1 AND s.state = 'committed'",
            params![chain_id],
            |row| row.get(0),
        )
    }

    /// Records that `snapshot` holds the filesystem of `chain_id`.
    pub fn insert_chain(&self, chain_id: &str, snapshot: &str) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO chains (chain_id, snapshot) VALUES (?1, ?2)",
            params![chain_id, snapshot],
        )
    }

    // --- images ---

    /// Tags an image, then calls `publish` with every image row while still holding
    /// the write lock, so concurrent taggers publish (index.json) in commit order.
    pub fn set_image(
        &self,
        image: &ImageRow,
        publish: impl FnOnce(&[ImageRow]) -> Result<()>,
    ) -> Result<()> {
        self.change_images(
            "INSERT OR REPLACE INTO images
             (name, manifest_digest, manifest_size, config_digest, size, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                image.name,
                image.manifest_digest,
                image.manifest_size as i64,
                image.config_digest,
                image.size as i64,
                image.created
            ],
            publish,
        )
    }

    /// Removes the tag `name`; `publish` sees every remaining tag inside the same
    /// transaction (it republishes `index.json`).
    pub fn remove_image(
        &self,
        name: &str,
        publish: impl FnOnce(&[ImageRow]) -> Result<()>,
    ) -> Result<()> {
        self.change_images("DELETE FROM images WHERE name = ?1", params![name], publish)
    }

    /// Runs one statement on the images table and `publish` in one transaction.
    fn change_images(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        publish: impl FnOnce(&[ImageRow]) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        tx.execute(sql, params).map_err(|e| self.err(e))?;
        let all = query_images(&tx).map_err(|e| self.err(e))?;
        publish(&all)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The image tagged `name`.
    pub fn image(&self, name: &str) -> Result<Option<ImageRow>> {
        self.query_one(
            "SELECT name, manifest_digest, manifest_size, config_digest, size, created
                 FROM images WHERE name = ?1",
            params![name],
            image_row,
        )
    }

    /// Every tagged image, by name.
    pub fn images(&self) -> Result<Vec<ImageRow>> {
        query_images(&self.conn()).map_err(|e| self.err(e))
    }

    // --- stat cache ---

    /// Every stat cache row of `path` and of the paths below it, by path: (stat,
    /// digest). One query instead of one per file (each costs SQLite's shared-memory
    /// locks), for hashing a whole COPY source.
    pub fn stat_digests_under(&self, path: &str) -> Result<HashMap<String, (String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT path, stat, digest FROM stat_cache
                     WHERE path = ?1 OR (path >= ?1 || '/' AND path < ?1 || '0')",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![path], |row| {
                Ok((row.get(0)?, (row.get(1)?, row.get(2)?)))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records content digests of files by their stat, in one transaction.
    pub fn put_stat_digests(&self, rows: &[(String, String, String)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.transaction(|tx| {
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO stat_cache (path, stat, digest) VALUES (?1, ?2, ?3)",
            )?;
            for (path, stat, digest) in rows {
                stmt.execute(params![path, stat, digest])?;
            }
            Ok(())
        })
    }
}

/// How an optional epoch is kept in a key column: the number, or empty.
fn epoch_key(epoch: Option<i64>) -> String {
    epoch.map(|e| e.to_string()).unwrap_or_default()
}

fn mark_committed(tx: &Connection, id: &str, size: u64, empty: bool) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE snapshots SET state = 'committed', size = ?2, empty = ?3 WHERE id = ?1",
        params![id, size as i64, empty],
    )
    .map(drop)
}

fn snapshot_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotRow> {
    Ok(SnapshotRow {
        id: row.get(0)?,
        parent: row.get(1)?,
        committed: row.get::<_, String>(2)? == "committed",
        created: row.get(3)?,
        size: row.get::<_, i64>(4)? as u64,
        empty: row.get(5)?,
    })
}

fn record_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CacheRecord> {
    Ok(CacheRecord {
        key: row.get(0)?,
        snapshot: row.get(1)?,
        description: row.get(2)?,
        created: row.get(3)?,
        last_used: row.get(4)?,
    })
}

fn image_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        name: row.get(0)?,
        manifest_digest: row.get(1)?,
        manifest_size: row.get::<_, i64>(2)? as u64,
        config_digest: row.get(3)?,
        size: row.get::<_, i64>(4)? as u64,
        created: row.get(5)?,
    })
}

fn query_images(conn: &Connection) -> rusqlite::Result<Vec<ImageRow>> {
    let mut stmt = conn.prepare(
        "SELECT name, manifest_digest, manifest_size, config_digest, size, created
         FROM images ORDER BY name",
    )?;
    stmt.query_map([], image_row)?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.db")).unwrap();
        (dir, index)
    }

    fn record(key: &str, snapshot: &str) -> CacheRecord {
        CacheRecord {
            key: key.into(),
            snapshot: snapshot.into(),
            description: "RUN true".into(),
            created: 1,
            last_used: 1,
        }
    }

    #[test]
    fn blob_sources_and_pushes_are_kept_per_registry() {
        let (_d, index) = index();
        for repo in ["b", "a", "a"] {
            index
                .insert_blob_source("sha256:1", "r:5000", repo)
                .unwrap();
        }
        index.insert_blob_source("sha256:1", "other", "c").unwrap();
        assert_eq!(
            index.blob_sources("sha256:1", "r:5000").unwrap(),
            ["a", "b"]
        );
        assert!(index.blob_sources("sha256:2", "r:5000").unwrap().is_empty());
        index
            .insert_pushed("r:5000/a", "sha256:c", "sha256:m")
            .unwrap();
        index
            .insert_pushed("r:5000/a", "sha256:c", "sha256:m")
            .unwrap();
        assert_eq!(
            index.pushed("sha256:c").unwrap(),
            [("r:5000/a".to_string(), "sha256:m".to_string())]
        );
    }

    #[test]
    fn records_of_active_snapshots_are_never_returned() {
        let (_d, index) = index();
        index.insert_active_snapshot("s1", None, 1).unwrap();
        // A record pointing at an uncommitted snapshot (a crash mid-step) is invisible.
        index
            .conn()
            .execute(
                "INSERT INTO cache_records VALUES ('k', 's1', 'RUN x', 1, 1)",
                [],
            )
            .unwrap();
        assert_eq!(index.lookup_record("k").unwrap(), None);
        let winner = index
            .commit_step(&record("k", "s1"), 10, false, OnConflict::KeepFirst)
            .unwrap();
        assert_eq!(winner, "s1", "a record of an active snapshot is no winner");
        let (found, empty) = index.lookup_record("k").unwrap().unwrap();
        assert_eq!(found.snapshot, "s1");
        assert!(!empty);
        index.touch_records(&["k".into()], 5).unwrap();
        assert_eq!(index.records().unwrap()[0].record.last_used, 5);
        assert_eq!(index.records().unwrap()[0].size, 10);
    }

    #[test]
    fn two_connections_write_without_losing_rows() {
        let (dir, a) = index();
        let b = Index::open(&dir.path().join("i.db")).unwrap();
        let t = std::thread::spawn(move || {
            for i in 0..50 {
                b.insert_active_snapshot(&format!("b{i}"), None, 1).unwrap();
            }
        });
        for i in 0..50 {
            a.insert_active_snapshot(&format!("a{i}"), None, 1).unwrap();
        }
        t.join().unwrap();
        assert_eq!(a.snapshots().unwrap().len(), 100);
    }

    #[test]
    fn images_are_listed_by_name() {
        let (_d, index) = index();
        let row = |name: &str| ImageRow {
            name: name.into(),
            manifest_digest: "sha256:m".into(),
            manifest_size: 1,
            config_digest: "sha256:c".into(),
            size: 2,
            created: 3,
        };
        index.set_image(&row("b:1"), |_| Ok(())).unwrap();
        let mut seen = Vec::new();
        index
            .set_image(&row("a:1"), |all| {
                seen = all.iter().map(|r| r.name.clone()).collect();
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["a:1", "b:1"]);
        assert_eq!(index.image("b:1").unwrap().unwrap().size, 2);
    }
}

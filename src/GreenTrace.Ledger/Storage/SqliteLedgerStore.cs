using GreenTrace.Core.Ledger;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Ledger.Storage;

/// <summary>
/// The embedded ledger store: one SQLite file, WAL, fully synchronous commits. Another process may open the same
/// file: every append takes the write lock first (BEGIN IMMEDIATE) and checks the next index under it, so a second
/// writer gets <see cref="LedgerAppendConflictException"/> instead of interleaving.
/// </summary>
public sealed class SqliteLedgerStore : ILedgerStore
{
    private const string Columns = "idx, entry_id, kind, author, meter_id, certificate_id, encoded, leaf_hash";
    private const string CheckpointColumns = "size, root, note, signed_at, signature_count";
    private const int PageSize = 10_000;

    private const string EntriesTable = """
        CREATE TABLE IF NOT EXISTS entries (
            idx            INTEGER PRIMARY KEY,
            entry_id       BLOB    NOT NULL UNIQUE,
            kind           TEXT    NOT NULL,
            author         TEXT    NOT NULL,
            meter_id       TEXT,
            certificate_id BLOB,
            encoded        BLOB    NOT NULL,
            leaf_hash      BLOB    NOT NULL
        );
        """;

    private const string Schema = EntriesTable + """
        CREATE INDEX IF NOT EXISTS entries_meter ON entries(meter_id, kind);
        CREATE INDEX IF NOT EXISTS entries_certificate ON entries(certificate_id, kind);
        CREATE TABLE IF NOT EXISTS checkpoints (
            size            INTEGER PRIMARY KEY,
            root            BLOB    NOT NULL,
            note            TEXT    NOT NULL,
            signed_at       INTEGER NOT NULL,
            signature_count INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE IF NOT EXISTS rejections (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            entry_id    BLOB    NOT NULL,
            code        TEXT    NOT NULL,
            message     TEXT    NOT NULL,
            received_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS rejections_entry ON rejections(entry_id);
        """;

    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();
    // Prepared once: the append path runs them for every batch.
    private readonly SqliteCommand _nextIndex;
    private readonly SqliteCommand _insert;

    public SqliteLedgerStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // DefaultTimeout and busy_timeout: a second writer on the file waits for the lock instead of failing at once.
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        _db.Open();
        try
        {
            Execute("PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            using (var tx = _db.BeginTransaction(deferred: false))
            {
                Migrate(tx);
                Execute(Schema, tx);
                tx.Commit();
            }
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0) FROM entries";
            using (var r = cmd.ExecuteReader())
            {
                r.Read();
                if (r.GetInt64(1) != r.GetInt64(0))
                    throw new InvalidDataException("ledger store has gaps in its entry indexes; it was altered outside GreenTrace");
            }
            _nextIndex = Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries");
            _insert = Prepare($"INSERT INTO entries ({Columns}) VALUES ($i, $id, $k, $a, $m, $c, $e, $h)", "$i", "$id", "$k", "$a", "$m", "$c", "$e", "$h");
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    public long Count
    {
        get
        {
            lock (_gate)
                return (long)_nextIndex.ExecuteScalar()!;
        }
    }

    public void Append(IReadOnlyList<StoredEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
            return;
        LedgerBatches.CheckContiguous(entries);
        lock (_gate)
        {
            // IMMEDIATE: the write lock before reading the next index, so no other connection can append in between.
            using var tx = _db.BeginTransaction(deferred: false);
            _nextIndex.Transaction = tx;
            _insert.Transaction = tx;
            try
            {
                var next = (long)_nextIndex.ExecuteScalar()!;
                if (entries[0].Index != next)
                    throw new LedgerAppendConflictException(entries[0].Index, next);
                var p = _insert.Parameters;
                foreach (var e in entries)
                {
                    p[0].Value = e.Index;
                    p[1].Value = e.EntryId;
                    p[2].Value = e.Kind.ToString();
                    p[3].Value = e.Author;
                    p[4].Value = (object?)e.MeterId ?? DBNull.Value;
                    p[5].Value = (object?)e.CertificateId ?? DBNull.Value;
                    p[6].Value = e.Encoded;
                    p[7].Value = e.LeafHash;
                    _insert.ExecuteNonQuery();
                }
                tx.Commit();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: a repeated entry id
            {
                throw new InvalidOperationException($"the batch at index {entries[0].Index} repeats an entry already in the log: {ex.Message}", ex);
            }
            finally
            {
                _nextIndex.Transaction = null;
                _insert.Transaction = null;
            }
        }
    }

    public IEnumerable<StoredEntry> ReadAll() => ReadRange(0, long.MaxValue);

    public IEnumerable<StoredEntry> ReadRange(long fromIndex, long toExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(toExclusive, fromIndex);
        return Pages(fromIndex, toExclusive);
    }

    private IEnumerable<StoredEntry> Pages(long fromIndex, long toExclusive)
    {
        // Page by page, each read whole under the lock: a lazy reader would hold the connection across appends.
        for (var from = fromIndex; from < toExclusive;)
        {
            List<StoredEntry> page;
            lock (_gate)
            {
                page = Query($"SELECT {Columns} FROM entries WHERE idx >= $f AND idx < $t ORDER BY idx LIMIT {PageSize}", c =>
                {
                    c.Parameters.AddWithValue("$f", from);
                    c.Parameters.AddWithValue("$t", toExclusive);
                });
            }
            foreach (var e in page)
                yield return e;
            if (page.Count < PageSize)
                yield break;
            from = page[^1].Index + 1;
        }
    }

    public StoredEntry? Get(long index) => Select("WHERE idx = $v", index).FirstOrDefault();

    public StoredEntry? FindCertificate(ReadOnlySpan<byte> certificateId) =>
        Select($"WHERE certificate_id = $v AND kind = '{nameof(EntryKind.CertificateIssued)}' ORDER BY idx LIMIT 1", certificateId.ToArray()).FirstOrDefault();

    public StoredEntry? FindDevice(string meterId) =>
        Select($"WHERE meter_id = $v AND kind = '{nameof(EntryKind.DeviceRegistered)}' ORDER BY idx DESC LIMIT 1", meterId).FirstOrDefault();

    public IReadOnlyList<StoredEntry> FindByCertificate(ReadOnlySpan<byte> certificateId) => Select("WHERE certificate_id = $v ORDER BY idx", certificateId.ToArray());

    public IReadOnlyList<StoredEntry> FindByMeter(string meterId) => Select("WHERE meter_id = $v ORDER BY idx", meterId);

    public StoredEntry? FindEntry(ReadOnlySpan<byte> entryId) => Select("WHERE entry_id = $v", entryId.ToArray()).FirstOrDefault();

    public IReadOnlyList<StoredRejection> FindRejections(ReadOnlySpan<byte> entryId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT entry_id, code, message, received_at FROM rejections WHERE entry_id = $e ORDER BY id";
            cmd.Parameters.AddWithValue("$e", entryId.ToArray());
            using var r = cmd.ExecuteReader();
            var list = new List<StoredRejection>();
            while (r.Read())
                list.Add(new StoredRejection((byte[])r[0], r.GetString(1), r.GetString(2), r.GetInt64(3)));
            return list;
        }
    }

    public void SaveCheckpoint(StoredCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_gate)
        {
            using var tx = _db.BeginTransaction(deferred: false);
            var existing = QueryCheckpoints("WHERE size = $s", c => c.Parameters.AddWithValue("$s", checkpoint.Size), tx).FirstOrDefault();
            if (existing is not null)
            {
                if (!existing.Root.AsSpan().SequenceEqual(checkpoint.Root))
                    throw new InvalidOperationException($"a checkpoint of size {checkpoint.Size} with another root is already stored: the log has forked");
                if (checkpoint.SignatureCount < existing.SignatureCount)
                    return; // what is stored carries more cosignatures
            }
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"INSERT OR REPLACE INTO checkpoints ({CheckpointColumns}) VALUES ($s, $r, $n, $t, $c)";
            cmd.Parameters.AddWithValue("$s", checkpoint.Size);
            cmd.Parameters.AddWithValue("$r", checkpoint.Root);
            cmd.Parameters.AddWithValue("$n", checkpoint.Note);
            cmd.Parameters.AddWithValue("$t", checkpoint.SignedAt);
            cmd.Parameters.AddWithValue("$c", checkpoint.SignatureCount);
            cmd.ExecuteNonQuery();
            tx.Commit();
        }
    }

    public StoredCheckpoint? GetCheckpoint(long size)
    {
        lock (_gate)
            return QueryCheckpoints("WHERE size = $s", c => c.Parameters.AddWithValue("$s", size)).FirstOrDefault();
    }

    public StoredCheckpoint? LatestCheckpoint(int minSignatures = 1)
    {
        lock (_gate)
            return QueryCheckpoints("WHERE signature_count >= $m ORDER BY size DESC LIMIT 1", c => c.Parameters.AddWithValue("$m", minSignatures)).FirstOrDefault();
    }

    public IReadOnlyList<StoredCheckpoint> Checkpoints()
    {
        lock (_gate)
            return QueryCheckpoints("ORDER BY size", _ => { });
    }

    public void RecordRejection(ReadOnlySpan<byte> entryId, string code, string message, long at)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO rejections (entry_id, code, message, received_at) VALUES ($e, $c, $m, $t)";
            cmd.Parameters.AddWithValue("$e", entryId.ToArray());
            cmd.Parameters.AddWithValue("$c", code);
            cmd.Parameters.AddWithValue("$m", message);
            cmd.Parameters.AddWithValue("$t", at);
            cmd.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        _nextIndex.Dispose();
        _insert.Dispose();
        _db.Dispose();
    }

    /// <summary>
    /// Files from before many entries could name one certificate have UNIQUE on certificate_id and no
    /// signature_count; SQLite cannot drop a constraint, so the entries table is copied into the new shape.
    /// </summary>
    private void Migrate(SqliteTransaction tx)
    {
        if (Scalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'entries'", tx) != 0
            && Scalar<long>("SELECT COUNT(*) FROM pragma_index_list('entries') AS l JOIN pragma_index_info(l.name) AS i WHERE l.\"unique\" = 1 AND i.name = 'certificate_id'", tx) != 0)
        {
            Execute("ALTER TABLE entries RENAME TO entries_unique_certificate;", tx);
            Execute(EntriesTable, tx);
            Execute($"INSERT INTO entries ({Columns}) SELECT {Columns} FROM entries_unique_certificate; DROP TABLE entries_unique_certificate;", tx);
        }
        if (Scalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'", tx) != 0
            && Scalar<long>("SELECT COUNT(*) FROM pragma_table_info('checkpoints') WHERE name = 'signature_count'", tx) == 0)
            Execute("ALTER TABLE checkpoints ADD COLUMN signature_count INTEGER NOT NULL DEFAULT 1;", tx);
    }

    private List<StoredEntry> Select(string where, object value)
    {
        lock (_gate)
            return Query($"SELECT {Columns} FROM entries {where}", c => c.Parameters.AddWithValue("$v", value));
    }

    private List<StoredEntry> Query(string sql, Action<SqliteCommand> bind)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        bind(cmd);
        using var r = cmd.ExecuteReader();
        var list = new List<StoredEntry>();
        while (r.Read())
        {
            list.Add(new StoredEntry(
                r.GetInt64(0), (byte[])r[1], Enum.Parse<EntryKind>(r.GetString(2)), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : (byte[])r[5], (byte[])r[6], (byte[])r[7]));
        }
        return list;
    }

    private List<StoredCheckpoint> QueryCheckpoints(string where, Action<SqliteCommand> bind, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT {CheckpointColumns} FROM checkpoints {where}";
        bind(cmd);
        using var r = cmd.ExecuteReader();
        var list = new List<StoredCheckpoint>();
        while (r.Read())
            list.Add(new StoredCheckpoint(r.GetInt64(0), (byte[])r[1], r.GetString(2), r.GetInt64(3), r.GetInt32(4)));
        return list;
    }

    private T Scalar<T>(string sql, SqliteTransaction? tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return (T)cmd.ExecuteScalar()!;
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var p in parameters)
            cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
        cmd.Prepare();
        return cmd;
    }
}

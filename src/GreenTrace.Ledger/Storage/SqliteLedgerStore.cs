using GreenTrace.Core.Ledger;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Ledger.Storage;

/// <summary>The embedded ledger store: one SQLite file, WAL, fully synchronous commits.</summary>
public sealed class SqliteLedgerStore : ILedgerStore
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        CREATE TABLE IF NOT EXISTS entries (
            idx            INTEGER PRIMARY KEY,
            entry_id       BLOB    NOT NULL UNIQUE,
            kind           TEXT    NOT NULL,
            author         TEXT    NOT NULL,
            meter_id       TEXT,
            certificate_id BLOB    UNIQUE,
            encoded        BLOB    NOT NULL,
            leaf_hash      BLOB    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS entries_meter ON entries(meter_id, kind);
        CREATE TABLE IF NOT EXISTS checkpoints (
            size      INTEGER PRIMARY KEY,
            root      BLOB    NOT NULL,
            note      TEXT    NOT NULL,
            signed_at INTEGER NOT NULL,
            signatures INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE IF NOT EXISTS rejections (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            entry_id    BLOB    NOT NULL,
            code        TEXT    NOT NULL,
            message     TEXT    NOT NULL,
            received_at INTEGER NOT NULL
        );
        """;

    private readonly SqliteConnection _db;
    private readonly object _gate = new();
    private long _count;

    public SqliteLedgerStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute(Schema);
        // Stores made before checkpoints were cosigned carry one signature per checkpoint.
        if (!Query<long>("SELECT COUNT(*) FROM pragma_table_info('checkpoints') WHERE name = 'signatures'").Any(n => n > 0))
            Execute("ALTER TABLE checkpoints ADD COLUMN signatures INTEGER NOT NULL DEFAULT 1");
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0) FROM entries";
        using var r = cmd.ExecuteReader();
        r.Read();
        _count = r.GetInt64(0);
        if (r.GetInt64(1) != _count)
            throw new InvalidDataException("ledger store has gaps in its entry indexes; it was altered outside GreenTrace");
    }

    public long Count
    {
        get
        {
            lock (_gate)
                return _count;
        }
    }

    public void Append(IReadOnlyList<StoredEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
            return;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO entries (idx, entry_id, kind, author, meter_id, certificate_id, encoded, leaf_hash) VALUES ($i, $id, $k, $a, $m, $c, $e, $h)";
            var p = new[] { "$i", "$id", "$k", "$a", "$m", "$c", "$e", "$h" }.Select(n => cmd.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();
            var next = _count;
            foreach (var e in entries)
            {
                if (e.Index != next)
                    throw new InvalidOperationException($"append at index {e.Index}, but the log continues at {next}");
                p[0].Value = e.Index;
                p[1].Value = e.EntryId;
                p[2].Value = e.Kind.ToString();
                p[3].Value = e.Author;
                p[4].Value = (object?)e.MeterId ?? DBNull.Value;
                p[5].Value = (object?)e.CertificateId ?? DBNull.Value;
                p[6].Value = e.Encoded;
                p[7].Value = e.LeafHash;
                cmd.ExecuteNonQuery();
                next++;
            }
            tx.Commit();
            _count = next;
        }
    }

    public IEnumerable<StoredEntry> ReadAll()
    {
        // Materialised under the lock: a lazy reader would hold the connection across appends.
        lock (_gate)
            return Query("SELECT idx, entry_id, kind, author, meter_id, certificate_id, encoded, leaf_hash FROM entries ORDER BY idx", _ => { });
    }

    public StoredEntry? Get(long index) => Single("WHERE idx = $v", index);

    public StoredEntry? FindCertificate(ReadOnlySpan<byte> certificateId) => Single("WHERE certificate_id = $v", certificateId.ToArray());

    public StoredEntry? FindDevice(string meterId) => Single("WHERE meter_id = $v AND kind = 'DeviceRegistered' ORDER BY idx DESC LIMIT 1", meterId);

    public void SaveCheckpoint(StoredCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            if (ReadCheckpoints("WHERE size = $v", checkpoint.Size, tx).FirstOrDefault() is { } existing && !existing.Root.AsSpan().SequenceEqual(checkpoint.Root))
                throw new InvalidOperationException($"a checkpoint of size {checkpoint.Size} with another root is already stored");
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT OR REPLACE INTO checkpoints (size, root, note, signed_at, signatures) VALUES ($s, $r, $n, $t, $c)";
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
            return ReadCheckpoints("WHERE size = $v", size).FirstOrDefault();
    }

    public IReadOnlyList<StoredCheckpoint> Checkpoints()
    {
        lock (_gate)
            return ReadCheckpoints("WHERE $v = $v ORDER BY size", 0);
    }

    public StoredCheckpoint? LatestCheckpoint(int minSignatures = 1)
    {
        lock (_gate)
            return ReadCheckpoints("WHERE signatures >= $v ORDER BY size DESC LIMIT 1", minSignatures).FirstOrDefault();
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

    public void Dispose() => _db.Dispose();

    private StoredEntry? Single(string where, object value)
    {
        lock (_gate)
            return Query($"SELECT idx, entry_id, kind, author, meter_id, certificate_id, encoded, leaf_hash FROM entries {where}", c => c.Parameters.AddWithValue("$v", value)).FirstOrDefault();
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

    private List<StoredCheckpoint> ReadCheckpoints(string where, object value, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT size, root, note, signed_at, signatures FROM checkpoints {where}";
        cmd.Parameters.AddWithValue("$v", value);
        using var r = cmd.ExecuteReader();
        var list = new List<StoredCheckpoint>();
        while (r.Read())
            list.Add(new StoredCheckpoint(r.GetInt64(0), (byte[])r[1], r.GetString(2), r.GetInt64(3), r.GetInt32(4)));
        return list;
    }

    private List<T> Query<T>(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read())
            list.Add(r.GetFieldValue<T>(0));
        return list;
    }

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

using GreenTrace.Core.Readings;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Gateway.Store;

/// <summary>
/// The standalone gateway's store: one SQLite file that every gateway process on the host shares. Its
/// <c>readings</c> table is the durable readings stream (ordered by offset, one row per meter and
/// sequence), <c>rejected</c> the rejected stream with raw bytes, <c>duplicates</c> the books of what
/// arrived twice. An accepted reading is appended in one immediate transaction that first checks the
/// meter's last sequence, so two gateways racing on one meter cannot both accept: the loser validates
/// again and finds a duplicate. Transactions commit to the WAL without a disk sync each (synchronous=NORMAL);
/// <see cref="FlushAsync"/> syncs the WAL once for every verdict since the last flush (group commit), and
/// the gateway sends PUBACKs only after it, so a reading is on disk before its PUBACK.
/// </summary>
public sealed class SqliteGatewayStore : IGatewayStore, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();
    // Prepared once: the gateway runs these for every message, and parsing SQL each time cost more than running it.
    private readonly SqliteCommand _lastAccepted;
    private readonly SqliteCommand _findAccepted;
    private readonly SqliteCommand _before;
    private readonly SqliteCommand _after;
    private readonly SqliteCommand _maxSeq;
    private readonly SqliteCommand _insertAccepted;

    public SqliteGatewayStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Pooling = false,
            // Other gateway processes hold the write lock for one short transaction at a time.
            DefaultTimeout = 30,
        }.ToString());
        _db.Open();
        Execute("PRAGMA busy_timeout = 30000;");
        Execute("PRAGMA journal_mode = WAL;");
        // NORMAL: commits reach the WAL (safe from a crash of this process) without a sync each; FlushAsync
        // syncs the WAL, and checkpoints sync before they copy, so what a flush covered stays on disk.
        Execute("PRAGMA synchronous = NORMAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS readings (
                offset      INTEGER PRIMARY KEY AUTOINCREMENT,
                meter_id    TEXT    NOT NULL,
                seq         INTEGER NOT NULL,
                payload     BLOB    NOT NULL,
                gateway     TEXT    NOT NULL,
                accepted_at INTEGER NOT NULL,
                UNIQUE (meter_id, seq)
            );
            CREATE TABLE IF NOT EXISTS rejected (
                offset      INTEGER PRIMARY KEY AUTOINCREMENT,
                reason      TEXT    NOT NULL,
                meter_id    TEXT,
                gateway     TEXT    NOT NULL,
                received_at INTEGER NOT NULL,
                record      BLOB    NOT NULL
            );
            -- How far the forwarder has put each table on the real stream, and which process forwards.
            CREATE TABLE IF NOT EXISTS forwarded (
                stream      TEXT    PRIMARY KEY,
                last_offset INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS forwarder_lease (
                id          INTEGER PRIMARY KEY CHECK (id = 1),
                holder      TEXT    NOT NULL,
                expires_at  INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS duplicates (
                offset      INTEGER PRIMARY KEY AUTOINCREMENT,
                meter_id    TEXT    NOT NULL,
                seq         INTEGER NOT NULL,
                gateway     TEXT    NOT NULL,
                received_at INTEGER NOT NULL
            );
            """);
        _lastAccepted = Prepare("SELECT payload FROM readings WHERE meter_id = $m ORDER BY seq DESC LIMIT 1", "$m");
        _findAccepted = Prepare("SELECT payload FROM readings WHERE meter_id = $m AND seq = $s", "$m", "$s");
        _before = Prepare("SELECT payload FROM readings WHERE meter_id = $m AND seq < $s ORDER BY seq DESC LIMIT 1", "$m", "$s");
        _after = Prepare("SELECT payload FROM readings WHERE meter_id = $m AND seq > $s ORDER BY seq LIMIT 1", "$m", "$s");
        _maxSeq = Prepare("SELECT MAX(seq) FROM readings WHERE meter_id = $m", "$m");
        _insertAccepted = Prepare("""
            INSERT INTO readings (meter_id, seq, payload, gateway, accepted_at) VALUES ($m, $s, $p, $g, $t)
            ON CONFLICT (meter_id, seq) DO NOTHING
            """, "$m", "$s", "$p", "$g", "$t");
    }

    public string Path { get; }

    public Reading? LastAccepted(string meterId)
    {
        lock (_gate)
            return QueryReading(_lastAccepted, meterId, null);
    }

    public Reading? FindAccepted(string meterId, ulong sequence)
    {
        lock (_gate)
            return QueryReading(_findAccepted, meterId, sequence);
    }

    public (Reading? Before, Reading? After) Neighbours(string meterId, ulong sequence)
    {
        lock (_gate)
            return (QueryReading(_before, meterId, sequence), QueryReading(_after, meterId, sequence));
    }

    /// <summary>The table keeps every accepted reading, so the history is complete.</summary>
    public ulong CompleteFrom(string meterId) => 0;

    public Task<bool> TryAppendAcceptedAsync(DecodedReading reading, ulong? expectedLastSequence, string gatewayId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reading);
        cancellationToken.ThrowIfCancellationRequested();
        var r = reading.Reading;
        lock (_gate)
        {
            // IMMEDIATE takes the write lock before the check, so no other gateway can append in between.
            using var tx = _db.BeginTransaction(deferred: false);
            _maxSeq.Transaction = tx;
            _insertAccepted.Transaction = tx;
            try
            {
                _maxSeq.Parameters[0].Value = r.MeterId;
                var current = _maxSeq.ExecuteScalar() is long s ? (ulong?)unchecked((ulong)s) : null;
                if (current != expectedLastSequence)
                    return Task.FromResult(false);
                _insertAccepted.Parameters[0].Value = r.MeterId;
                _insertAccepted.Parameters[1].Value = unchecked((long)r.Sequence);
                _insertAccepted.Parameters[2].Value = reading.Encoded.ToArray();
                _insertAccepted.Parameters[3].Value = gatewayId;
                _insertAccepted.Parameters[4].Value = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                if (_insertAccepted.ExecuteNonQuery() != 1)
                    return Task.FromResult(false);
                tx.Commit();
            }
            finally
            {
                _maxSeq.Transaction = null;
                _insertAccepted.Transaction = null;
            }
            return Task.FromResult(true);
        }
    }

    public Task AppendRejectedAsync(RejectedReading rejected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO rejected (reason, meter_id, gateway, received_at, record) VALUES ($r, $m, $g, $t, $b)";
            cmd.Parameters.AddWithValue("$r", rejected.Reason);
            cmd.Parameters.AddWithValue("$m", (object?)rejected.MeterId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$g", rejected.RejectedBy);
            cmd.Parameters.AddWithValue("$t", rejected.ReceivedAt);
            cmd.Parameters.AddWithValue("$b", rejected.ToJsonBytes());
            cmd.ExecuteNonQuery();
        }
        return Task.CompletedTask;
    }

    public Task RecordDuplicateAsync(Reading reading, string gatewayId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reading);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO duplicates (meter_id, seq, gateway, received_at) VALUES ($m, $s, $g, $t)";
            cmd.Parameters.AddWithValue("$m", reading.MeterId);
            cmd.Parameters.AddWithValue("$s", unchecked((long)reading.Sequence));
            cmd.Parameters.AddWithValue("$g", gatewayId);
            cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            cmd.ExecuteNonQuery();
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // One fsync of the WAL makes every transaction any connection committed before it durable: the WAL is
        // the log, and a checkpoint that later moves frames into the database syncs both files as it does.
        // No WAL file yet means nothing was committed since the last checkpoint, which synced.
        try
        {
            using var wal = new FileStream(Path + "-wal", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            wal.Flush(flushToDisk: true);
        }
        catch (FileNotFoundException)
        {
        }
        return Task.CompletedTask;
    }

    /// <summary>Accepted readings after <paramref name="afterOffset"/>, in stream order: how a forwarder or an auditor reads the stream.</summary>
    public IReadOnlyList<StoredReading> ReadAccepted(long afterOffset, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT offset, meter_id, seq, payload, gateway FROM readings WHERE offset > $o ORDER BY offset LIMIT $n";
            cmd.Parameters.AddWithValue("$o", afterOffset);
            cmd.Parameters.AddWithValue("$n", max);
            using var reader = cmd.ExecuteReader();
            var rows = new List<StoredReading>();
            while (reader.Read())
                rows.Add(new StoredReading(reader.GetInt64(0), reader.GetString(1), unchecked((ulong)reader.GetInt64(2)), (byte[])reader.GetValue(3), reader.GetString(4)));
            return rows;
        }
    }

    /// <summary>Refusals after <paramref name="afterOffset"/>, in stream order, with their offsets.</summary>
    public IReadOnlyList<(long Offset, RejectedReading Rejected)> ReadRejected(long afterOffset, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT offset, record FROM rejected WHERE offset > $o ORDER BY offset LIMIT $n";
            cmd.Parameters.AddWithValue("$o", afterOffset);
            cmd.Parameters.AddWithValue("$n", max);
            using var reader = cmd.ExecuteReader();
            var rows = new List<(long, RejectedReading)>();
            while (reader.Read())
                rows.Add((reader.GetInt64(0), RejectedReading.FromJson((byte[])reader.GetValue(1))));
            return rows;
        }
    }

    /// <summary>The last offset of <paramref name="stream"/> ("readings" or "rejected") known to be on the real stream; 0 if none.</summary>
    public long ForwardedUpTo(string stream)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT last_offset FROM forwarded WHERE stream = $s";
            cmd.Parameters.AddWithValue("$s", stream);
            return cmd.ExecuteScalar() is long o ? o : 0;
        }
    }

    /// <summary>Records that everything of <paramref name="stream"/> up to <paramref name="offset"/> is on the real stream.</summary>
    public void MarkForwarded(string stream, long offset)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO forwarded (stream, last_offset) VALUES ($s, $o) ON CONFLICT (stream) DO UPDATE SET last_offset = MAX(last_offset, excluded.last_offset)";
            cmd.Parameters.AddWithValue("$s", stream);
            cmd.Parameters.AddWithValue("$o", offset);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Takes or renews the one forwarder lease of this store until <paramref name="until"/> (Unix ms). Several
    /// gateway processes share a store; one of them forwards at a time, and another takes over when its lease lapses.
    /// </summary>
    public bool TryHoldForwarderLease(string holder, long now, long until)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO forwarder_lease (id, holder, expires_at) VALUES (1, $h, $u)
                ON CONFLICT (id) DO UPDATE SET holder = $h, expires_at = $u WHERE holder = $h OR expires_at < $now
                """;
            cmd.Parameters.AddWithValue("$h", holder);
            cmd.Parameters.AddWithValue("$u", until);
            cmd.Parameters.AddWithValue("$now", now);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>Gives the lease up (a clean shutdown), so another gateway need not wait for it to lapse.</summary>
    public void ReleaseForwarderLease(string holder)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM forwarder_lease WHERE holder = $h";
            cmd.Parameters.AddWithValue("$h", holder);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The highest offset of each table: with <see cref="ForwardedUpTo"/>, the forwarder's lag.</summary>
    public (long Readings, long Rejected) EndOffsets()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT (SELECT COALESCE(MAX(offset), 0) FROM readings), (SELECT COALESCE(MAX(offset), 0) FROM rejected)";
            using var r = cmd.ExecuteReader();
            r.Read();
            return (r.GetInt64(0), r.GetInt64(1));
        }
    }

    /// <summary>Refusals in stream order.</summary>
    public IReadOnlyList<RejectedReading> ReadRejected()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT record FROM rejected ORDER BY offset";
            using var reader = cmd.ExecuteReader();
            var rows = new List<RejectedReading>();
            while (reader.Read())
                rows.Add(RejectedReading.FromJson((byte[])reader.GetValue(0)));
            return rows;
        }
    }

    /// <summary>The books: what every gateway writing here accepted, refused by reason, and dropped as duplicates.</summary>
    public GatewayTotals Totals()
    {
        lock (_gate)
        {
            var byGateway = new Dictionary<string, long>(StringComparer.Ordinal);
            var byReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
            long accepted = 0, duplicates = 0;
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT gateway, COUNT(*) FROM readings GROUP BY gateway";
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    byGateway[reader.GetString(0)] = reader.GetInt64(1);
                    accepted += reader.GetInt64(1);
                }
            }
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT reason, COUNT(*) FROM rejected GROUP BY reason";
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                    byReason[reader.GetString(0)] = reader.GetInt64(1);
            }
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT COUNT(*) FROM duplicates";
                duplicates = (long)cmd.ExecuteScalar()!;
            }
            long Scalar(string sql)
            {
                using var cmd = _db.CreateCommand();
                cmd.CommandText = sql;
                return cmd.ExecuteScalar() is long v ? v : 0;
            }
            var forwarded = new ForwardedTotals(
                Scalar("SELECT last_offset FROM forwarded WHERE stream = 'readings'"), Scalar("SELECT COALESCE(MAX(offset), 0) FROM readings"),
                Scalar("SELECT last_offset FROM forwarded WHERE stream = 'rejected'"), Scalar("SELECT COALESCE(MAX(offset), 0) FROM rejected"));
            return new GatewayTotals(accepted, byReason, duplicates, byGateway, Scalar("SELECT COUNT(*) FROM forwarded") > 0 ? forwarded : null);
        }
    }

    public void Dispose()
    {
        foreach (var cmd in new[] { _lastAccepted, _findAccepted, _before, _after, _maxSeq, _insertAccepted })
            cmd.Dispose();
        _db.Dispose();
    }

    private Reading? QueryReading(SqliteCommand cmd, string meterId, ulong? sequence)
    {
        cmd.Parameters[0].Value = meterId;
        if (sequence is { } s)
            cmd.Parameters[1].Value = unchecked((long)s);
        if (cmd.ExecuteScalar() is not byte[] payload)
            return null;
        // Only readings that passed every check are stored, so decoding cannot fail short of a corrupted file.
        var decoded = ReadingCodec.Decode(payload);
        return decoded.IsOk ? decoded.Value.Reading : throw new InvalidDataException($"{Path}: stored reading of '{meterId}' no longer decodes: {decoded.Error.Message}");
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

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

/// <summary>One row of the readings stream.</summary>
public sealed record StoredReading(long Offset, string MeterId, ulong Sequence, byte[] Payload, string Gateway);

/// <summary>The gateway books: every message that reached a gateway is in exactly one of these.</summary>
public sealed record GatewayTotals(long Accepted, IReadOnlyDictionary<string, long> RejectedByReason, long Duplicates, IReadOnlyDictionary<string, long> AcceptedByGateway, ForwardedTotals? Forwarded = null)
{
    public long Rejected => RejectedByReason.Values.Sum();

    public long Received => Accepted + Rejected + Duplicates;
}

/// <summary>How far the forwarder has put each table on the stream, against each table's end (offsets).</summary>
public sealed record ForwardedTotals(long Readings, long ReadingsEnd, long Rejected, long RejectedEnd);

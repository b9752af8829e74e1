using GreenTrace.Core.Certificates;
using GreenTrace.Core.Readings;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Ledger.Storage;

/// <summary>
/// The reading archive in SQLite. A unique (meter, sequence) index makes double counting a constraint
/// violation. Every aggregator of a host's consumer group shares the file (WAL, busy timeout), because a
/// partition's new owner must see what its old owner certified; certificates are written in one
/// immediate transaction per batch, so one disk sync covers many.
/// </summary>
public sealed class SqliteReadingArchive : IReadingArchive, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();
    // Prepared once: the aggregator asks these for nearly every reading.
    private readonly SqliteCommand _findCertified;
    private readonly SqliteCommand _nextPart;

    public SqliteReadingArchive(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        _db.Open();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = """
            PRAGMA busy_timeout = 30000;
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS certificates (
                certificate_id BLOB    PRIMARY KEY,
                meter_id       TEXT    NOT NULL,
                hour_start     INTEGER NOT NULL,
                part           INTEGER NOT NULL,
                reading_count  INTEGER NOT NULL,
                face_value_wh  INTEGER NOT NULL,
                reading_root   BLOB    NOT NULL,
                entry          BLOB    NOT NULL,
                submitted      INTEGER NOT NULL DEFAULT 0,
                stored_seq     INTEGER NOT NULL,
                UNIQUE (meter_id, hour_start, part)
            ) WITHOUT ROWID;
            -- Store takes MAX(stored_seq) on every insert: an index keeps that O(log n).
            CREATE INDEX IF NOT EXISTS certificates_stored_seq ON certificates(stored_seq);
            CREATE INDEX IF NOT EXISTS certificates_unsubmitted ON certificates(submitted) WHERE submitted = 0;
            CREATE TABLE IF NOT EXISTS certificate_readings (
                certificate_id BLOB    NOT NULL,
                leaf_index     INTEGER NOT NULL,
                meter_id       TEXT    NOT NULL,
                seq            INTEGER NOT NULL,
                cose           BLOB    NOT NULL,
                PRIMARY KEY (certificate_id, leaf_index),
                UNIQUE (meter_id, seq)
            ) WITHOUT ROWID;
            """;
        cmd.ExecuteNonQuery();
        _findCertified = Prepare("SELECT cose FROM certificate_readings WHERE meter_id = $m AND seq = $s", "$m", "$s");
        _nextPart = Prepare("SELECT COALESCE(MAX(part) + 1, 0) FROM certificates WHERE meter_id = $m AND hour_start = $h", "$m", "$h");
    }

    public void Store(GranularCertificate certificate, IReadOnlyList<DecodedReading> readings, ReadOnlyMemory<byte> ledgerEntry)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(readings);
        if (Store([new ArchivedCertificate(certificate, readings, ledgerEntry.ToArray())]).Count != 0)
            throw new InvalidOperationException($"certificate {Convert.ToHexStringLower(certificate.Id)} conflicts with the archive: its part or one of its readings is already certified");
    }

    public IReadOnlyList<byte[]> Store(IReadOnlyList<ArchivedCertificate> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        if (certificates.Count == 0)
            return [];
        var refused = new List<byte[]>();
        lock (_gate)
        {
            // IMMEDIATE: the write lock before the first check, so another member cannot slip in between.
            using var tx = _db.BeginTransaction(deferred: false);
            using var existing = Command(tx, "SELECT reading_root, face_value_wh, reading_count FROM certificates WHERE certificate_id = $c", "$c");
            using var cert = Command(tx, """
                INSERT INTO certificates (certificate_id, meter_id, hour_start, part, reading_count, face_value_wh, reading_root, entry, stored_seq)
                VALUES ($c, $m, $h, $p, $n, $wh, $root, $e, (SELECT COALESCE(MAX(stored_seq), 0) + 1 FROM certificates))
                """, "$c", "$m", "$h", "$p", "$n", "$wh", "$root", "$e");
            using var reading = Command(tx, "INSERT INTO certificate_readings VALUES ($c, $i, $m, $s, $r)", "$c", "$i", "$m", "$s", "$r");
            using var savepoint = Command(tx, "SAVEPOINT one");
            using var release = Command(tx, "RELEASE one");
            using var rollback = Command(tx, "ROLLBACK TO one");
            foreach (var (certificate, readings, entry) in certificates)
            {
                existing.Parameters[0].Value = certificate.Id;
                using (var r = existing.ExecuteReader())
                {
                    if (r.Read())
                    {
                        // The same id with the same readings is a replay (a no-op); with others, someone else's certificate.
                        if (!(((byte[])r[0]).AsSpan().SequenceEqual(certificate.ReadingRoot) && r.GetInt64(1) == (long)certificate.FaceValueWh && r.GetInt64(2) == certificate.ReadingCount))
                            refused.Add(certificate.Id);
                        continue;
                    }
                }
                savepoint.ExecuteNonQuery();
                try
                {
                    Bind(cert, certificate.Id, certificate.MeterId, certificate.PeriodStart, certificate.Part, certificate.ReadingCount, (long)certificate.FaceValueWh, certificate.ReadingRoot, entry);
                    cert.ExecuteNonQuery();
                    for (var n = 0; n < readings.Count; n++)
                    {
                        Bind(reading, certificate.Id, n, readings[n].Reading.MeterId, unchecked((long)readings[n].Reading.Sequence), readings[n].Encoded.ToArray());
                        reading.ExecuteNonQuery();
                    }
                    release.ExecuteNonQuery();
                }
                catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the part or a reading is taken
                {
                    rollback.ExecuteNonQuery();
                    release.ExecuteNonQuery();
                    refused.Add(certificate.Id);
                }
            }
            tx.Commit();
        }
        return refused;
    }

    public IReadOnlyList<byte[]>? Load(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT cose FROM certificate_readings WHERE certificate_id = $c ORDER BY leaf_index";
            cmd.Parameters.AddWithValue("$c", certificateId.ToArray());
            using var reader = cmd.ExecuteReader();
            var list = new List<byte[]>();
            while (reader.Read())
                list.Add((byte[])reader[0]);
            return list.Count == 0 ? null : list;
        }
    }

    public byte[]? FindCertified(string meterId, ulong sequence)
    {
        lock (_gate)
        {
            Bind(_findCertified, meterId, unchecked((long)sequence));
            return _findCertified.ExecuteScalar() as byte[];
        }
    }

    public void MarkSubmitted(ReadOnlySpan<byte> certificateId) => MarkSubmitted([certificateId.ToArray()]);

    public void MarkSubmitted(IReadOnlyCollection<byte[]> certificateIds)
    {
        ArgumentNullException.ThrowIfNull(certificateIds);
        if (certificateIds.Count == 0)
            return;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction(deferred: false);
            using var cmd = Command(tx, "UPDATE certificates SET submitted = 1 WHERE certificate_id = $c", "$c");
            foreach (var id in certificateIds)
            {
                cmd.Parameters[0].Value = id;
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    public IReadOnlyList<PendingSubmission> Unsubmitted()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT certificate_id, meter_id, entry FROM certificates WHERE submitted = 0 ORDER BY stored_seq";
            using var r = cmd.ExecuteReader();
            var list = new List<PendingSubmission>();
            while (r.Read())
                list.Add(new PendingSubmission((byte[])r[0], r.GetString(1), (byte[])r[2]));
            return list;
        }
    }

    public int NextPart(string meterId, long hourStart)
    {
        lock (_gate)
        {
            Bind(_nextPart, meterId, hourStart);
            return Convert.ToInt32(_nextPart.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Totals per meter, for reconciliation (certified Wh must equal accepted Wh).</summary>
    public IReadOnlyDictionary<string, (long Certificates, long Readings, long Wh)> TotalsByMeter()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT meter_id, COUNT(*), SUM(reading_count), SUM(face_value_wh) FROM certificates GROUP BY meter_id";
            using var r = cmd.ExecuteReader();
            var totals = new Dictionary<string, (long, long, long)>(StringComparer.Ordinal);
            while (r.Read())
                totals[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
            return totals;
        }
    }

    public void Dispose()
    {
        _findCertified.Dispose();
        _nextPart.Dispose();
        _db.Dispose();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var cmd = Command(null, sql, parameters);
        cmd.Prepare();
        return cmd;
    }

    private SqliteCommand Command(SqliteTransaction? tx, string sql, params string[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var p in parameters)
            cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
        return cmd;
    }

    private static void Bind(SqliteCommand cmd, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
            cmd.Parameters[i].Value = values[i];
    }
}

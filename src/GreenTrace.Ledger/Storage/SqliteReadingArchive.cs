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
    private readonly SqliteCommand _existing;
    private readonly SqliteCommand _insertCertificate;
    private readonly SqliteCommand _insertReading;
    private readonly SqliteCommand _maxStoredSeq;
    private readonly SqliteCommand _findConsumption;
    private readonly SqliteCommand _insertConsumption;

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
            -- Consumption is never certified; buyers' hourly matching reads it by meter and hour.
            CREATE TABLE IF NOT EXISTS consumption_readings (
                meter_id   TEXT    NOT NULL,
                seq        INTEGER NOT NULL,
                hour_start INTEGER NOT NULL,
                wh         INTEGER NOT NULL,
                cose       BLOB    NOT NULL,
                PRIMARY KEY (meter_id, seq)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS consumption_by_hour ON consumption_readings(meter_id, hour_start);
            """;
        cmd.ExecuteNonQuery();
        _findCertified = Prepare("SELECT cose FROM certificate_readings WHERE meter_id = $m AND seq = $s", "$m", "$s");
        _nextPart = Prepare("SELECT COALESCE(MAX(part) + 1, 0) FROM certificates WHERE meter_id = $m AND hour_start = $h", "$m", "$h");
        _existing = Prepare("SELECT reading_root, face_value_wh, reading_count FROM certificates WHERE certificate_id = $c", "$c");
        _insertCertificate = Prepare("""
            INSERT INTO certificates (certificate_id, meter_id, hour_start, part, reading_count, face_value_wh, reading_root, entry, stored_seq)
            VALUES ($c, $m, $h, $p, $n, $wh, $root, $e, $seq)
            """, "$c", "$m", "$h", "$p", "$n", "$wh", "$root", "$e", "$seq");
        _insertReading = Prepare("INSERT INTO certificate_readings VALUES ($c, $i, $m, $s, $r)", "$c", "$i", "$m", "$s", "$r");
        _maxStoredSeq = Prepare("SELECT COALESCE(MAX(stored_seq), 0) FROM certificates");
        _findConsumption = Prepare("SELECT cose FROM consumption_readings WHERE meter_id = $m AND seq = $s", "$m", "$s");
        _insertConsumption = Prepare("INSERT INTO consumption_readings VALUES ($m, $s, $h, $wh, $r) ON CONFLICT DO NOTHING", "$m", "$s", "$h", "$wh", "$r");
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
            // IMMEDIATE: the write lock before the first check, so another member cannot slip in between. The
            // checks are plain reads under that lock, so nothing needs undoing and one commit (one sync) covers all.
            using var tx = _db.BeginTransaction(deferred: false);
            foreach (var cmd in new[] { _existing, _insertCertificate, _insertReading, _findCertified, _maxStoredSeq })
                cmd.Transaction = tx;
            try
            {
                var storedSeq = (long)_maxStoredSeq.ExecuteScalar()!;
                foreach (var (certificate, readings, entry) in certificates)
                {
                    // The id is the hash of (meter, period, part): the same id is the same part of the same hour.
                    _existing.Parameters[0].Value = certificate.Id;
                    using (var r = _existing.ExecuteReader())
                    {
                        if (r.Read())
                        {
                            // With the same readings it is a replay (a no-op); with others, another member's certificate.
                            if (!(((byte[])r[0]).AsSpan().SequenceEqual(certificate.ReadingRoot) && r.GetInt64(1) == (long)certificate.FaceValueWh && r.GetInt64(2) == certificate.ReadingCount))
                                refused.Add(certificate.Id);
                            continue;
                        }
                    }
                    if (readings.Any(x => IsCertified(x.Reading.MeterId, x.Reading.Sequence)))
                    {
                        refused.Add(certificate.Id);
                        continue;
                    }
                    Bind(_insertCertificate, certificate.Id, certificate.MeterId, certificate.PeriodStart, certificate.Part, certificate.ReadingCount, (long)certificate.FaceValueWh, certificate.ReadingRoot, entry, ++storedSeq);
                    _insertCertificate.ExecuteNonQuery();
                    for (var n = 0; n < readings.Count; n++)
                    {
                        Bind(_insertReading, certificate.Id, n, readings[n].Reading.MeterId, unchecked((long)readings[n].Reading.Sequence), readings[n].Encoded.ToArray());
                        _insertReading.ExecuteNonQuery();
                    }
                }
                tx.Commit();
            }
            finally
            {
                foreach (var cmd in new[] { _existing, _insertCertificate, _insertReading, _findCertified, _maxStoredSeq })
                    cmd.Transaction = null;
            }
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

    /// <summary>
    /// The archived (certified) readings of a meter whose certificate's hour starts in [<paramref name="fromHour"/>,
    /// <paramref name="toHour"/>): the certificate, its hour, the reading's leaf index and its COSE bytes, by hour then leaf.
    /// </summary>
    public IReadOnlyList<ArchivedReading> ReadingsOfMeter(string meterId, long fromHour, long toHour)
    {
        ArgumentNullException.ThrowIfNull(meterId);
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                SELECT r.certificate_id, c.hour_start, r.leaf_index, r.cose
                FROM certificate_readings r JOIN certificates c ON c.certificate_id = r.certificate_id
                WHERE r.meter_id = $m AND c.hour_start >= $from AND c.hour_start < $to
                ORDER BY c.hour_start, c.part, r.leaf_index
                """;
            cmd.Parameters.AddWithValue("$m", meterId);
            cmd.Parameters.AddWithValue("$from", fromHour);
            cmd.Parameters.AddWithValue("$to", toHour);
            using var r = cmd.ExecuteReader();
            var list = new List<ArchivedReading>();
            while (r.Read())
                list.Add(new ArchivedReading((byte[])r[0], r.GetInt64(1), r.GetInt32(2), (byte[])r[3]));
            return list;
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

    private bool IsCertified(string meterId, ulong sequence)
    {
        Bind(_findCertified, meterId, unchecked((long)sequence));
        return _findCertified.ExecuteScalar() is not null;
    }

    public void MarkSubmitted(ReadOnlySpan<byte> certificateId) => MarkSubmitted([certificateId.ToArray()]);

    public void MarkSubmitted(IReadOnlyCollection<byte[]> certificateIds)
    {
        ArgumentNullException.ThrowIfNull(certificateIds);
        if (certificateIds.Count == 0)
            return;
        lock (_gate)
        {
            // The mark needs no disk sync of its own: lost in a power cut, it only means the entry is sent again, which
            // the ledger takes as a no-op; the next certificate's synced commit makes it durable anyway.
            Execute("PRAGMA synchronous = NORMAL");
            try
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
            finally
            {
                Execute("PRAGMA synchronous = FULL");
            }
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

    public void StoreConsumption(IReadOnlyList<DecodedReading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (readings.Count == 0)
            return;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction(deferred: false);
            _insertConsumption.Transaction = tx;
            try
            {
                foreach (var d in readings)
                {
                    var r = d.Reading;
                    Bind(_insertConsumption, r.MeterId, unchecked((long)r.Sequence), r.HourStart, checked((long)r.EnergyWh), d.Encoded.ToArray());
                    _insertConsumption.ExecuteNonQuery();
                }
                tx.Commit();
            }
            finally
            {
                _insertConsumption.Transaction = null;
            }
        }
    }

    public byte[]? FindConsumption(string meterId, ulong sequence)
    {
        lock (_gate)
        {
            Bind(_findConsumption, meterId, unchecked((long)sequence));
            return _findConsumption.ExecuteScalar() as byte[];
        }
    }

    /// <summary>A consumption meter's Wh and reading count per hour for hours starting in [from, to), in hour order.</summary>
    public IReadOnlyList<(long Hour, long Wh, int Readings)> ConsumptionByHour(string meterId, long from, long to)
    {
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT hour_start, SUM(wh), COUNT(*) FROM consumption_readings
                WHERE meter_id = $m AND hour_start >= $from AND hour_start < $to
                GROUP BY hour_start ORDER BY hour_start
                """, "$m", "$from", "$to");
            Bind(cmd, meterId, from, to);
            using var r = cmd.ExecuteReader();
            var hours = new List<(long, long, int)>();
            while (r.Read())
                hours.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt32(2)));
            return hours;
        }
    }

    /// <summary>Consumption readings and Wh per meter, for reconciliation.</summary>
    public IReadOnlyDictionary<string, (long Readings, long Wh)> ConsumptionTotalsByMeter()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT meter_id, COUNT(*), SUM(wh) FROM consumption_readings GROUP BY meter_id";
            using var r = cmd.ExecuteReader();
            var totals = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
            while (r.Read())
                totals[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2));
            return totals;
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
        foreach (var cmd in new[] { _findCertified, _nextPart, _existing, _insertCertificate, _insertReading, _maxStoredSeq, _findConsumption, _insertConsumption })
            cmd.Dispose();
        _db.Dispose();
    }

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
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

/// <summary>One certified reading as the archive keeps it: its certificate, that certificate's hour, its leaf index, its bytes.</summary>
public sealed record ArchivedReading(byte[] CertificateId, long HourStart, int LeafIndex, byte[] Cose);

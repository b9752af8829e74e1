using GreenTrace.Core.Certificates;
using GreenTrace.Core.Readings;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Ledger.Storage;

/// <summary>The embedded reading archive in SQLite. A unique (meter, sequence) index makes double counting a constraint violation.</summary>
public sealed class SqliteReadingArchive : IReadingArchive, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly object _gate = new();

    public SqliteReadingArchive(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS certificates (
                certificate_id BLOB    PRIMARY KEY,
                meter_id       TEXT    NOT NULL,
                hour_start     INTEGER NOT NULL,
                part           INTEGER NOT NULL,
                reading_count  INTEGER NOT NULL,
                face_value_wh  INTEGER NOT NULL,
                entry          BLOB    NOT NULL,
                submitted      INTEGER NOT NULL DEFAULT 0,
                stored_seq     INTEGER NOT NULL,
                UNIQUE (meter_id, hour_start, part)
            ) WITHOUT ROWID;
            -- Store takes MAX(stored_seq) on every insert: an index keeps that O(log n).
            CREATE INDEX IF NOT EXISTS certificates_stored_seq ON certificates(stored_seq);
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
    }

    public void Store(GranularCertificate certificate, IReadOnlyList<DecodedReading> readings, ReadOnlyMemory<byte> ledgerEntry)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(readings);
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using var cert = _db.CreateCommand();
            cert.Transaction = tx;
            cert.CommandText = """
                INSERT OR IGNORE INTO certificates (certificate_id, meter_id, hour_start, part, reading_count, face_value_wh, entry, stored_seq)
                VALUES ($c, $m, $h, $p, $n, $wh, $e, (SELECT COALESCE(MAX(stored_seq), 0) + 1 FROM certificates))
                """;
            cert.Parameters.AddWithValue("$c", certificate.Id);
            cert.Parameters.AddWithValue("$m", certificate.MeterId);
            cert.Parameters.AddWithValue("$h", certificate.PeriodStart);
            cert.Parameters.AddWithValue("$p", certificate.Part);
            cert.Parameters.AddWithValue("$n", certificate.ReadingCount);
            cert.Parameters.AddWithValue("$wh", (long)certificate.FaceValueWh);
            cert.Parameters.AddWithValue("$e", ledgerEntry.ToArray());
            if (cert.ExecuteNonQuery() == 0)
                return; // already archived: a replay

            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO certificate_readings VALUES ($c, $i, $m, $s, $r)";
            cmd.Parameters.AddWithValue("$c", certificate.Id);
            var i = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$i" });
            var m = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$m" });
            var s = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$s" });
            var r = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$r" });
            for (var n = 0; n < readings.Count; n++)
            {
                i.Value = n;
                m.Value = readings[n].Reading.MeterId;
                s.Value = (long)readings[n].Reading.Sequence;
                r.Value = readings[n].Encoded.ToArray();
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
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
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT cose FROM certificate_readings WHERE meter_id = $m AND seq = $s";
            cmd.Parameters.AddWithValue("$m", meterId);
            cmd.Parameters.AddWithValue("$s", (long)sequence);
            return cmd.ExecuteScalar() as byte[];
        }
    }

    public void MarkSubmitted(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE certificates SET submitted = 1 WHERE certificate_id = $c";
            cmd.Parameters.AddWithValue("$c", certificateId.ToArray());
            cmd.ExecuteNonQuery();
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
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT COALESCE(MAX(part) + 1, 0) FROM certificates WHERE meter_id = $m AND hour_start = $h";
            cmd.Parameters.AddWithValue("$m", meterId);
            cmd.Parameters.AddWithValue("$h", hourStart);
            return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
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

    public void Dispose() => _db.Dispose();
}

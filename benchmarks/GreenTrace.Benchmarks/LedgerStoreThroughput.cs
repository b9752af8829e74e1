using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Store-level append throughput, not a BenchmarkDotNet run: one pass of N synthetic entries in batches, as a
/// ledger node appends them (one transaction per batch, synchronous commits), printing entries/s.
///   dotnet run -c Release --project benchmarks/GreenTrace.Benchmarks -- ledger-store-throughput
///       [--entries 100000] [--batch 500] [--size 400] [--sqlite PATH] [--postgres CONNECTION-STRING]
/// Without --postgres only SQLite runs; give a server with scripts/postgres start. Each PostgreSQL run gets a fresh schema.
/// </summary>
internal static class LedgerStoreThroughput
{
    public static int Run(string[] args)
    {
        var entries = 100_000;
        var batch = 500;
        var size = 400;
        string? sqlite = null;
        string? postgres = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--entries": entries = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--size": size = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sqlite": sqlite = value; break;
                case "--postgres": postgres = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        var data = Synthetic(entries, size);
        Console.WriteLine($"{entries:N0} entries of {size} bytes, batches of {batch}");

        var tempDir = Directory.CreateTempSubdirectory("greentrace-store-bench-");
        try
        {
            using (var store = new SqliteLedgerStore(sqlite ?? Path.Combine(tempDir.FullName, "ledger.db")))
                Report("SQLite (WAL, synchronous=FULL)", Measure(store, data, batch));
            if (postgres is not null)
            {
                using var store = new PostgresLedgerStore($"{postgres};Schema=bench_{Guid.NewGuid():N}");
                Report("PostgreSQL (COPY BINARY, synchronous_commit=on)", Measure(store, data, batch));
            }
        }
        finally
        {
            tempDir.Delete(recursive: true);
        }
        return 0;
    }

    private static StoredEntry[] Synthetic(int count, int size)
    {
        var list = new StoredEntry[count];
        for (var i = 0; i < count; i++)
        {
            var encoded = RandomNumberGenerator.GetBytes(size);
            var certificate = i % 2 == 0 ? null : SHA256.HashData(BitConverter.GetBytes(i / 4));
            list[i] = new StoredEntry(i, SHA256.HashData(encoded), i % 2 == 0 ? EntryKind.DeviceRegistered : EntryKind.CertificateIssued,
                "issuer-de", $"meter-{i % 5000}", certificate, encoded, MerkleHash.Leaf(encoded));
        }
        return list;
    }

    private static (int Entries, TimeSpan Elapsed) Measure(ILedgerStore store, StoredEntry[] data, int batch)
    {
        var clock = Stopwatch.StartNew();
        foreach (var chunk in data.Chunk(batch))
            store.Append(chunk);
        clock.Stop();
        if (store.Count != data.Length)
            throw new InvalidOperationException($"the store holds {store.Count} entries, expected {data.Length}");
        return (data.Length, clock.Elapsed);
    }

    private static void Report(string what, (int Entries, TimeSpan Elapsed) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-48} {result.Entries / result.Elapsed.TotalSeconds,12:N0} entries/s  ({result.Elapsed.TotalSeconds:0.00} s)"));
}

using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Raw .NET SHA-256 on the two input sizes a Merkle tree hashes: 33 bytes (0x00 ‖ 32-byte leaf) and
/// 65 bytes (0x01 ‖ left ‖ right). Span in, span out, no allocation: the cost of one P/Invoke to OpenSSL.
/// </summary>
[MemoryDiagnoser]
public class HashBenchmarks
{
    private readonly byte[] destination = new byte[32];
    private byte[] input33 = [];
    private byte[] input65 = [];
    private IncrementalHash incremental = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(9162);
        input33 = new byte[33];
        input65 = new byte[65];
        random.NextBytes(input33);
        random.NextBytes(input65);
        incremental = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    [GlobalCleanup]
    public void Cleanup() => incremental.Dispose();

    [Benchmark(Description = "SHA256.HashData(33 bytes)")]
    public int HashData33() => SHA256.HashData(input33, destination);

    [Benchmark(Description = "SHA256.HashData(65 bytes)")]
    public int HashData65() => SHA256.HashData(input65, destination);

    [Benchmark(Description = "IncrementalHash reused (65 bytes)")]
    public int Incremental65()
    {
        incremental.AppendData(input65);
        return incremental.GetHashAndReset(destination);
    }
}

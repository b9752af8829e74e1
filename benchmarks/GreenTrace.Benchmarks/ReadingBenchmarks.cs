using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using BenchmarkDotNet.Attributes;
using GreenTrace.Core.Readings;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Hot path 1: what a gateway does per reading. The meter's public key is imported once (the gateway caches it per
/// meter); each operation decodes the COSE_Sign1 bytes, checks the format, and verifies the ES256 signature.
/// The raw ECDsa benchmarks verify the very same Sig_structure and signature, to separate COSE/CBOR overhead from
/// the cryptography (which .NET delegates to OpenSSL on Linux).
/// </summary>
[MemoryDiagnoser]
public class ReadingBenchmarks
{
    private byte[] encoded = [];
    private ReadOnlyMemory<byte> encodedMemory;
    private ECDsa meterKey = null!;
    private byte[] sigStructure = [];
    private byte[] sigStructureHash = [];
    private byte[] signature = [];

    [GlobalSetup]
    public void Setup()
    {
        // A typical 15-minute generation reading, signed by the meter's private key.
        using var deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reading = new Reading(
            MeterId: "NL-ZH-PV-000123",
            Sequence: 35_041,
            Start: 1_767_225_600,
            End: 1_767_226_500,
            EnergyWh: 1_834,
            RegisterWh: 48_213_977,
            Direction: EnergyDirection.Generation,
            Quality: ReadingQuality.Measured);
        encoded = ReadingCodec.Sign(reading, deviceKey);
        encodedMemory = encoded;

        // The gateway only holds the public key, imported once from the device registry.
        meterKey = ECDsa.Create(deviceKey.ExportParameters(includePrivateParameters: false));

        // RFC 9052 §4.4 Sig_structure = ["Signature1", protected, external_aad = h'', payload].
        var message = CoseMessage.DecodeSign1(encoded);
        var w = new CborWriter(CborConformanceMode.Canonical);
        w.WriteStartArray(4);
        w.WriteTextString("Signature1");
        w.WriteByteString(message.RawProtectedHeaders.Span);
        w.WriteByteString([]);
        w.WriteByteString(message.Content!.Value.Span);
        w.WriteEndArray();
        sigStructure = w.Encode();
        sigStructureHash = SHA256.HashData(sigStructure);
        signature = message.Signature.ToArray();

        // Refuse to benchmark something that does not verify: the figures would be for an early-exit path.
        if (!ReadingCodec.DecodeAndVerify(encoded, meterKey).IsOk)
            throw new InvalidOperationException("the benchmark reading does not decode and verify");
        if (!meterKey.VerifyData(sigStructure, signature, HashAlgorithmName.SHA256))
            throw new InvalidOperationException("the reconstructed Sig_structure does not verify");
    }

    [GlobalCleanup]
    public void Cleanup() => meterKey.Dispose();

    [Benchmark(Description = "Decode (format checks, no signature)")]
    public bool Decode() => ReadingCodec.Decode(encodedMemory).IsOk;

    [Benchmark(Description = "Decode then VerifySignature")]
    public bool DecodeThenVerify()
    {
        var decoded = ReadingCodec.Decode(encodedMemory);
        return decoded.IsOk && decoded.Value.VerifySignature(meterKey) is null;
    }

    [Benchmark(Description = "DecodeAndVerify")]
    public bool DecodeAndVerify() => ReadingCodec.DecodeAndVerify(encodedMemory, meterKey).IsOk;

    [Benchmark(Description = "ECDsa.VerifyData(Sig_structure)")]
    public bool RawVerifyData() => meterKey.VerifyData(sigStructure, signature, HashAlgorithmName.SHA256);

    [Benchmark(Description = "ECDsa.VerifyHash(SHA-256 of Sig_structure)")]
    public bool RawVerifyHash() => meterKey.VerifyHash(sigStructureHash, signature);
}

using FsCheck;
using FsCheck.Xunit;
using GreenTrace.Core.Readings;
using static GreenTrace.Core.Tests.Readings.ReadingFixtures;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>What holds for every input, not only the crafted ones: nothing corrupted is accepted, nothing at all throws.</summary>
public class ReadingPropertyTests
{
    private static readonly byte[] Valid = ReadingCodec.Sign(Fixed, MeterKey);

    /// <summary>Refused by the decoder or by the signature check; null means accepted.</summary>
    private static string? Verdict(byte[] encoded)
    {
        var decoded = ReadingCodec.Decode(encoded);
        return decoded.IsOk ? decoded.Value.VerifySignature(MeterKey)?.Code : decoded.Error.Code;
    }

    [Fact]
    public void TheUncorruptedReadingIsAccepted()
    {
        Assert.Null(Verdict(Valid));
    }

    [Property(MaxTest = 1000)]
    public bool AnySingleByteCorruptionIsRefused(NonNegativeInt position, byte mask)
    {
        var corrupted = (byte[])Valid.Clone();
        corrupted[position.Get % corrupted.Length] ^= mask == 0 ? (byte)0x01 : mask;

        return Verdict(corrupted) is not null;
    }

    [Fact]
    public void EveryByteOfTheReadingFlippedEveryWayIsRefused()
    {
        var accepted = new List<string>();
        foreach (var mask in new byte[] { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF })
        {
            for (var i = 0; i < Valid.Length; i++)
            {
                var corrupted = (byte[])Valid.Clone();
                corrupted[i] ^= mask;
                if (Verdict(corrupted) is null)
                    accepted.Add($"byte {i} ^ 0x{mask:x2}");
            }
        }

        Assert.Empty(accepted);
    }

    [Property(MaxTest = 300)]
    public bool AnyByteInsertedOrRemovedIsRefused(NonNegativeInt position, byte value, bool insert)
    {
        var at = position.Get % Valid.Length;
        byte[] changed = insert ? [.. Valid[..at], value, .. Valid[at..]] : [.. Valid[..at], .. Valid[(at + 1)..]];

        return Verdict(changed) is not null;
    }

    [Property(MaxTest = 1000)]
    public void RandomBytesNeverThrow(byte[] bytes)
    {
        _ = ReadingCodec.Decode(bytes);
        _ = ReadingCodec.DecodePayload(bytes);
    }

    [Property(MaxTest = 1000)]
    public void RandomBytesBehindASign1HeadNeverThrow(byte[] bytes)
    {
        // 0xD2 0x84: tag 18 and a 4-item array, so the decoder gets past the first byte.
        var decoded = ReadingCodec.Decode((byte[])[0xD2, 0x84, .. bytes]);
        if (decoded.IsOk)
            _ = decoded.Value.VerifySignature(MeterKey);
    }

    [Property(MaxTest = 300)]
    public void RandomSignedPayloadsNeverThrowAndAreRefused(byte[] payload)
    {
        var decoded = ReadingCodec.Decode(ReadingCodec.SignPayload(payload, Meter, MeterKey));

        Assert.False(decoded.IsOk);
    }

    [Property(MaxTest = 500)]
    public bool TruncatedReadingIsAlwaysRefused(PositiveInt cut)
    {
        var length = cut.Get % Valid.Length; // 0 .. Length-1

        return Verdict(Valid[..length]) is not null;
    }

    /// <summary>
    /// A payload the decoder accepts is exactly the encoder's output for what it decoded: there is
    /// one byte form per reading, so nothing lenient slips through. The payloads are mutations of a
    /// valid one, which keeps most of them close to acceptable.
    /// </summary>
    [Property(MaxTest = 500)]
    public bool AcceptedPayloadIsTheCanonicalEncodingOfWhatWasDecoded(byte keyPick, byte valuePick, bool sort, bool drop)
    {
        string[] keys = ["v", "m", "seq", "start", "end", "wh", "reg", "dir", "q", "x"];
        object?[] values = [0, 1, 2, 42, 900L, 1700000100L, 1700001000L, "gen", "con", "m", "e", "meter-01", "meter-02", "", -1, new byte[] { 1 }, null, ulong.MaxValue, RawCbor.FromHex("1801"), RawCbor.FromHex("19002a")];
        var key = keys[keyPick % keys.Length];
        var fields = FixedFields().Where(e => !(drop && (string)e.Key == key)).ToList();
        if (!drop)
        {
            fields.RemoveAll(e => (string)e.Key == key);
            fields.Add(new(key, values[valuePick % values.Length]));
        }
        var payload = sort ? TestCbor.CanonicalMap(fields) : TestCbor.Encode(new TestMap(fields));

        var decoded = ReadingCodec.DecodePayload(payload);

        return !decoded.IsOk || ReadingCodec.EncodePayload(decoded.Value).AsSpan().SequenceEqual(payload);
    }
}

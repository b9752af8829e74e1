using System.Formats.Cbor;
using System.Security.Cryptography;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>
/// The optimised reading decoder must give exactly the results of the reference (pre-optimisation) decoder: the same
/// reading, or the same reason code with the same message, for valid readings and for thousands of hostile ones.
/// </summary>
public class ReadingDecoderEquivalenceTests
{
    private static readonly Reading Typical = new(
        "NL-ZH-PV-000123", 35_041, 1_767_225_600, 1_767_226_500, 1_834, 48_213_977,
        EnergyDirection.Generation, ReadingQuality.Measured);

    [Fact]
    public void RandomReadingsDecodeIdentically()
    {
        var random = new Random(8949);
        var count = 0;
        foreach (var reading in RandomReadings(random, 500))
        {
            AssertSamePayloadResult(ReadingCodec.EncodePayload(reading));
            count++;
        }

        Assert.Equal(500, count);
    }

    [Fact]
    public void MutatedPayloadsFailOrSucceedIdentically()
    {
        var random = new Random(7049);
        foreach (var reading in RandomReadings(random, 12).Prepend(Typical))
        {
            foreach (var mutant in Mutants(ReadingCodec.EncodePayload(reading), random))
            {
                AssertSamePayloadResult(mutant);
            }
        }
    }

    [Fact]
    public void HandWrittenHostilePayloadsFailIdentically()
    {
        foreach (var payload in HostilePayloads())
        {
            AssertSamePayloadResult(payload);
        }
    }

    [Fact]
    public void SignedMessagesAndTheirMutantsDecodeIdentically()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var random = new Random(9052);
        var messages = new List<byte[]> { ReadingCodec.Sign(Typical, key) };
        messages.AddRange(RandomReadings(random, 20).Select(r => ReadingCodec.Sign(r, key)));
        messages.AddRange(HostilePayloads().Select(p => ReadingCodec.SignPayload(p, Typical.MeterId, key)));
        messages.Add(ReadingCodec.SignPayload(ReadingCodec.EncodePayload(Typical), "NL-ZH-PV-000124", key));
        messages.Add(ReadingCodec.SignPayload(ReadingCodec.EncodePayload(Typical), "bad kid!", key));
        messages.Add(ReadingCodec.SignPayload(ReadingCodec.EncodePayload(Typical), "", key));

        foreach (var message in messages.ToList())
        {
            AssertSameMessageResult(message);
        }

        foreach (var mutant in Mutants(messages[0], random))
        {
            AssertSameMessageResult(mutant);
        }
    }

    [Theory]
    // A signed reading whose protected header has a label encoded as a 64-bit unsigned or negative integer.
    [InlineData("d28454a21b26044f4e4c2d5a482d50562d303030313233a0584ca9616d6f4e4c2d5a482d50562d3030303132336171616d61760162776819072a636469726367656e63656e641a6955bc84637265671a02dfafd9637365711988e16573746172741a6955b90058409d9f02358a6b248c1faf2a44970f4a73aba5facd481b0ea2ab73c062be1fe34c47fdafc6041b2f2b27d50386d9851dcdab90045280754463098f6aec1649096b")]
    [InlineData("d28454a201263b4f4e4c2d5a482d50562d303030313233a0584ca9616d6f4e4c2d5a482d50562d3030303132336171616d61760162776819072a636469726367656e63656e641a6955bc84637265671a02dfafd9637365711988e16573746172741a6955b90058409d9f02358a6b248c1faf2a44970f4a73aba5facd481b0ea2ab73c062be1fe34c47fdafc6041b2f2b27d50386d9851dcdab90045280754463098f6aec1649096b")]
    // The reproduction in dotnet/runtime#126036.
    [InlineData("d28443a10440a13b3a3a3a3a3a85858531447465ff74582e00040000007f00000000000840000000ffff43a001000000001e00047443a001d9a100800000d28443a100000000")]
    public void OversizedHeaderLabelsAreMalformedNotACrash(string hex)
    {
        var result = ReadingCodec.Decode(Convert.FromHexString(hex));
        Assert.Equal(ReadingReasons.CoseMalformed, result.Error?.Code);
    }

    private static void AssertSamePayloadResult(byte[] payload)
    {
        var expected = ReferenceReadingDecoder.DecodePayload(payload);
        var actual = ReadingCodec.DecodePayload(payload);
        AssertSame(payload, expected, actual.IsOk ? actual.Value : null, actual.Error);
    }

    private static void AssertSameMessageResult(byte[] message)
    {
        Result<Reading> expected;
        try
        {
            expected = ReferenceReadingDecoder.Decode(message);
        }
        catch (OverflowException e)
        {
            // The reference let CoseMessage.DecodeSign1's OverflowException escape (dotnet/runtime#126036); the
            // decoder now reports it as a malformed message, which is the one intended difference.
            var result = ReadingCodec.Decode(message);
            Assert.Equal(
                (ReadingReasons.CoseMalformed, $"not a COSE_Sign1 message: {e.Message}"),
                (result.Error?.Code, result.Error?.Message));
            return;
        }

        var actual = ReadingCodec.Decode(message);
        AssertSame(message, expected, actual.IsOk ? actual.Value.Reading : null, actual.Error);
        if (actual.IsOk)
        {
            Assert.True(actual.Value.Encoded.Span.SequenceEqual(message));
        }
    }

    private static void AssertSame(byte[] input, Result<Reading> expected, Reading? actual, Rejection? actualError)
    {
        var context = Convert.ToHexStringLower(input);
        Assert.True(expected.IsOk == (actual is not null), $"{context}: expected {expected}, got {actual}{actualError}");
        if (expected.IsOk)
        {
            Assert.Equal(expected.Value, actual);
        }
        else
        {
            Assert.Equal((expected.Error.Code, expected.Error.Message), (actualError!.Code, actualError.Message));
        }
    }

    private static IEnumerable<Reading> RandomReadings(Random random, int count)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
        int[] intervals = [60, 300, 900, 1800, 3600, 7, 1000, 7200];
        for (var i = 0; i < count; i++)
        {
            var id = new string(Enumerable.Range(0, random.Next(1, 65)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var length = intervals[random.Next(intervals.Length)];
            var start = random.Next(4) switch
            {
                0 => 0L,
                1 => random.NextInt64(0, 253_402_300_799L / length) * length,
                2 => 253_402_300_799L - (253_402_300_799L % length) + (random.Next(2) * length),
                _ => (random.NextInt64(0, 10_000_000) * length) + random.Next(2),
            };
            yield return new Reading(
                id,
                RandomUInt64(random),
                start,
                start + length,
                RandomUInt64(random),
                RandomUInt64(random),
                random.Next(2) == 0 ? EnergyDirection.Generation : EnergyDirection.Consumption,
                random.Next(2) == 0 ? ReadingQuality.Measured : ReadingQuality.Estimated);
        }
    }

    private static ulong RandomUInt64(Random random) => random.Next(5) switch
    {
        0 => (ulong)random.Next(24),
        1 => (ulong)random.Next(256),
        2 => (ulong)random.Next(65_536),
        3 => (ulong)random.NextInt64(),
        _ => ulong.MaxValue - (ulong)random.Next(3),
    };

    /// <summary>Every truncation, every single-byte deletion, and several substitutions and insertions per position.</summary>
    private static IEnumerable<byte[]> Mutants(byte[] original, Random random)
    {
        byte[] interesting = [0x00, 0x01, 0x17, 0x18, 0x1b, 0x1f, 0x20, 0x3b, 0x40, 0x5f, 0x60, 0x61, 0x7f, 0x80, 0x9f, 0xa0, 0xa8, 0xa9, 0xaa, 0xbf, 0xc0, 0xd8, 0xf4, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff];
        for (var length = 0; length < original.Length; length++)
        {
            yield return original[..length];
        }

        for (var i = 0; i < original.Length; i++)
        {
            yield return [.. original[..i], .. original[(i + 1)..]];
            foreach (var b in interesting.Concat([(byte)(original[i] ^ 1), (byte)(original[i] + 1), (byte)(original[i] - 1), (byte)random.Next(256)]))
            {
                var copy = (byte[])original.Clone();
                copy[i] = b;
                yield return copy;
            }

            yield return [.. original[..i], interesting[random.Next(interesting.Length)], .. original[i..]];
        }

        yield return [.. original, 0x00];
        yield return [.. original, .. original];
    }

    private static IEnumerable<byte[]> HostilePayloads()
    {
        (string Key, Action<CborWriter> Write)[] good =
        [
            ("m", w => w.WriteTextString("NL-ZH-PV-000123")),
            ("q", w => w.WriteTextString("m")),
            ("v", w => w.WriteUInt32(1)),
            ("wh", w => w.WriteUInt64(1834)),
            ("dir", w => w.WriteTextString("gen")),
            ("end", w => w.WriteUInt64(1_767_226_500)),
            ("reg", w => w.WriteUInt64(48_213_977)),
            ("seq", w => w.WriteUInt64(35_041)),
            ("start", w => w.WriteUInt64(1_767_225_600)),
        ];
        Action<CborWriter>[] wrongValues =
        [
            w => w.WriteInt64(-1),
            w => w.WriteByteString([1, 2]),
            w => w.WriteTextString("1"),
            w => w.WriteUInt64(2),
            w => w.WriteBoolean(true),
            w => w.WriteNull(),
            w => w.WriteDouble(1.5),
            w => w.WriteHalf((Half)1),
            w => { w.WriteTag(CborTag.UnsignedBigNum); w.WriteByteString([1]); },
            w => { w.WriteStartArray(1); w.WriteUInt32(1); w.WriteEndArray(); },
            w => { w.WriteStartMap(0); w.WriteEndMap(); },
            w => w.WriteTextString("con"),
            w => w.WriteTextString("e"),
            w => w.WriteTextString("x"),
            w => w.WriteTextString(""),
            w => w.WriteTextString("bad id"),
            w => w.WriteUInt64(253_402_300_800),
            w => w.WriteUInt64(ulong.MaxValue),
        ];

        byte[] Map(IEnumerable<(string Key, Action<CborWriter> Write)> entries, CborConformanceMode mode = CborConformanceMode.Lax, bool indefinite = false)
        {
            var list = entries.ToList();
            var w = new CborWriter(mode, convertIndefiniteLengthEncodings: false);
            w.WriteStartMap(indefinite ? null : list.Count);
            foreach (var (key, write) in list)
            {
                w.WriteTextString(key);
                write(w);
            }

            w.WriteEndMap();
            return w.Encode();
        }

        yield return Map(good);
        yield return Map(good, indefinite: true);
        yield return Map(good.Reverse());
        yield return Map([]);
        yield return Map(good.Append(("zzz", w => w.WriteUInt32(0))));
        yield return Map(good.Prepend(("a", w => w.WriteUInt32(0))));
        yield return Map(good.Append(good[0]));
        yield return Map(good.Prepend(good[2]));
        for (var i = 0; i < good.Length; i++)
        {
            yield return Map(good.Where((_, j) => j != i));
            foreach (var wrong in wrongValues)
            {
                yield return Map(good.Select((e, j) => j == i ? (e.Key, wrong) : e));
            }
        }

        // A key that is not a text string, in the first position and among the others.
        var intKey = new CborWriter(CborConformanceMode.Lax);
        intKey.WriteStartMap(2);
        intKey.WriteInt32(1);
        intKey.WriteUInt32(1);
        intKey.WriteTextString("m");
        intKey.WriteTextString("x");
        intKey.WriteEndMap();
        yield return intKey.Encode();

        // Non-minimal integer, non-minimal string length, indefinite-length text.
        var good0 = Map(good);
        yield return [.. good0[..^1], 0x99];
        yield return [0xa9, 0x61, 0x6d, 0x78, 0x0f, .. "NL-ZH-PV-000123"u8, .. good0[19..]];
        yield return [0xa1, 0x61, 0x76, 0x18, 0x01];
        yield return [0xa1, 0x61, 0x76, 0x01];
        yield return [0xa1, 0x7f, 0x61, 0x76, 0xff, 0x01];
        yield return [0xa1, 0x61, 0x76, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1];

        // Not a map at all, or not CBOR at all.
        yield return [];
        yield return [0x01];
        yield return [0x80];
        yield return [0x60];
        yield return [0xff];
        yield return [0xa1, 0x61, 0xff, 0x01];
        yield return [0xa1, 0x62, 0xc3, 0x28, 0x01];
        yield return [0xc0, 0xa0];
        yield return "hello"u8.ToArray();
    }
}

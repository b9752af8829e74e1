using System.Formats.Cbor;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>An item that is already encoded and is written exactly as given (non-minimal heads and the like).</summary>
internal sealed record RawCbor(byte[] Bytes)
{
    public static RawCbor FromHex(string hex) => new(Convert.FromHexString(hex));
}

/// <summary>
/// A CBOR map written with its entries exactly in the given order: the test decides whether
/// keys are sorted, duplicated or of odd types, so a hostile payload carries only the defect
/// it is meant to carry.
/// </summary>
internal sealed record TestMap(IReadOnlyList<KeyValuePair<object, object?>> Entries, bool Indefinite = false)
{
    /// <summary>The same entries in RFC 8949 §4.2.1 order: bytewise lexicographic order of the encoded keys.</summary>
    public TestMap Sorted() => this with { Entries = TestCbor.SortCanonical(Entries) };
}

/// <summary>
/// Writes test values with System.Formats.Cbor in Lax mode (so nothing is reordered or
/// refused): string, byte[], bool, null, int, long, ulong, double, object[] (array),
/// <see cref="TestMap"/> and <see cref="RawCbor"/>.
/// </summary>
internal static class TestCbor
{
    public static byte[] Encode(object? value)
    {
        var w = new CborWriter(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
        Write(w, value);
        return w.Encode();
    }

    /// <summary>Encodes a map of the entries sorted canonically.</summary>
    public static byte[] CanonicalMap(IEnumerable<KeyValuePair<object, object?>> entries) =>
        Encode(new TestMap(entries.ToList()).Sorted());

    public static IReadOnlyList<KeyValuePair<object, object?>> SortCanonical(IEnumerable<KeyValuePair<object, object?>> entries) =>
        entries.OrderBy(e => Encode(e.Key), ByteOrder.Instance).ToList();

    public static void Write(CborWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNull();
                break;
            case RawCbor raw:
                w.WriteEncodedValue(raw.Bytes);
                break;
            case string s:
                w.WriteTextString(s);
                break;
            case byte[] b:
                w.WriteByteString(b);
                break;
            case bool b:
                w.WriteBoolean(b);
                break;
            case int i:
                w.WriteInt32(i);
                break;
            case long l:
                w.WriteInt64(l);
                break;
            case ulong u:
                w.WriteUInt64(u);
                break;
            case double d:
                w.WriteDouble(d);
                break;
            case object[] items:
                w.WriteStartArray(items.Length);
                foreach (var item in items)
                    Write(w, item);
                w.WriteEndArray();
                break;
            case TestMap map:
                w.WriteStartMap(map.Indefinite ? null : map.Entries.Count);
                foreach (var (k, v) in map.Entries)
                {
                    Write(w, k);
                    Write(w, v);
                }
                w.WriteEndMap();
                break;
            default:
                throw new ArgumentException($"no CBOR form for {value.GetType()}", nameof(value));
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}

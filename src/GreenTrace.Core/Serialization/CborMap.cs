using System.Formats.Cbor;

namespace GreenTrace.Core.Serialization;

/// <summary>
/// A decoded deterministic-CBOR map with text keys, and typed getters that report which key was
/// wrong instead of throwing. Ledger entries use it; readings have their own stricter decoder.
/// </summary>
internal sealed class CborMap
{
    private readonly Dictionary<string, object> _values;

    private CborMap(Dictionary<string, object> values) => _values = values;

    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>Reads one map in RFC 8949 §4.2.1 deterministic form; anything else is a format error.</summary>
    public static CborMap Read(CborReader reader, int depth = 0)
    {
        if (depth > 4)
            throw new FormatException("maps nested too deeply");
        if (reader.PeekState() != CborReaderState.StartMap)
            throw new FormatException("expected a CBOR map");
        var count = reader.ReadStartMap();
        var values = new Dictionary<string, object>(count ?? 8, StringComparer.Ordinal);
        while (reader.PeekState() != CborReaderState.EndMap)
        {
            if (reader.PeekState() != CborReaderState.TextString)
                throw new FormatException("map keys must be text strings");
            var key = reader.ReadTextString();
            object value = reader.PeekState() switch
            {
                CborReaderState.UnsignedInteger => reader.ReadUInt64(),
                CborReaderState.NegativeInteger => reader.ReadInt64(),
                CborReaderState.TextString => reader.ReadTextString(),
                CborReaderState.ByteString => reader.ReadByteString(),
                CborReaderState.StartMap => Read(reader, depth + 1),
                CborReaderState.StartArray => ReadArrayOfMaps(reader, depth + 1),
                var other => throw new FormatException($"key '{key}' has unsupported CBOR type {other}"),
            };
            values.Add(key, value);
        }
        reader.ReadEndMap();
        return new CborMap(values);
    }

    // Arrays only ever hold maps here (a split's parts); anything else in one is a format error.
    private static List<CborMap> ReadArrayOfMaps(CborReader reader, int depth)
    {
        var count = reader.ReadStartArray();
        var items = new List<CborMap>(Math.Min(count ?? 4, 256));
        while (reader.PeekState() != CborReaderState.EndArray)
            items.Add(Read(reader, depth));
        reader.ReadEndArray();
        return items;
    }

    public static CborMap Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new CborReader(bytes, CborConformanceMode.Ctap2Canonical);
            var map = Read(reader);
            if (reader.BytesRemaining != 0)
                throw new FormatException("trailing bytes after the map");
            return map;
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or OverflowException)
        {
            throw new FormatException($"not deterministic CBOR: {e.Message}", e);
        }
    }

    public void RequireOnly(params string[] allowed)
    {
        foreach (var key in _values.Keys)
        {
            if (Array.IndexOf(allowed, key) < 0)
                throw new FormatException($"unknown key '{key}'");
        }
    }

    public string Text(string key) => Get<string>(key, "text string");

    public byte[] Bytes(string key, int? length = null)
    {
        var b = Get<byte[]>(key, "byte string");
        if (length is { } n && b.Length != n)
            throw new FormatException($"key '{key}' must hold {n} bytes, not {b.Length}");
        return b;
    }

    public ulong UInt(string key) => Get<ulong>(key, "unsigned integer");

    public long Int(string key) => _values.TryGetValue(key, out var v)
        ? v switch
        {
            ulong u when u <= long.MaxValue => (long)u,
            long l => l,
            _ => throw new FormatException($"key '{key}' must be an integer in 64-bit range"),
        }
        : throw new FormatException($"key '{key}' is missing");

    public int Int32(string key)
    {
        var v = Int(key);
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new FormatException($"key '{key}' is out of range");
    }

    public CborMap Map(string key) => Get<CborMap>(key, "map");

    public IReadOnlyList<CborMap> Maps(string key) => Get<List<CborMap>>(key, "array of maps");

    private T Get<T>(string key, string typeName) =>
        !_values.TryGetValue(key, out var v) ? throw new FormatException($"key '{key}' is missing")
        : v is T t ? t
        : throw new FormatException($"key '{key}' must be a {typeName}");
}

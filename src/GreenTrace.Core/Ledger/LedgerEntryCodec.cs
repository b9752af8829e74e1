using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Serialization;

namespace GreenTrace.Core.Ledger;

/// <summary>
/// Ledger entries on the wire: a tagged COSE_Sign1 (ES256, kid = author id, content type
/// <see cref="ContentType"/>) whose payload is a deterministic CBOR map
/// <c>{"v": 1, "type": kind, "at": unix seconds, "body": {...}}</c>.
/// </summary>
public static class LedgerEntryCodec
{
    public const string ContentType = "application/greentrace-entry+cbor";
    public const int FormatVersion = 1;

    public static byte[] SignDeviceRegistered(DeviceInfo device, string issuerId, ECDsa issuerKey, long registeredAt)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Sign(EntryKind.DeviceRegistered, issuerId, issuerKey, registeredAt, w => WriteDevice(w, device));
    }

    public static byte[] SignCertificateIssued(GranularCertificate certificate, string issuerId, ECDsa issuerKey)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Sign(EntryKind.CertificateIssued, issuerId, issuerKey, certificate.IssuedAt, w => WriteCertificate(w, certificate));
    }

    public static Result<LedgerEntry> Decode(ReadOnlyMemory<byte> encoded)
    {
        if (encoded.IsEmpty || encoded.Span[0] != 0xD2)
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, "an entry is a tagged COSE_Sign1 message");
        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(encoded.Span);
        }
        catch (Exception e) when (e is CryptographicException or OverflowException)
        {
            // .NET's decoder throws OverflowException, not CryptographicException, for a header label outside Int32.
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, $"not a COSE_Sign1 message: {e.Message}");
        }
        try
        {
            if (!CoseEs256.HasProtectedEs256(message))
                throw new FormatException("protected header must set alg to ES256");
            if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.ContentType, out var ct) || ct.GetValueAsString() != ContentType)
                throw new FormatException($"protected content type must be '{ContentType}'");
            if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out var kid))
                throw new FormatException("protected header must carry the author id as kid");
            var author = new System.Text.UTF8Encoding(false, true).GetString(kid.GetValueAsBytes());
            if (message.Content is not { } content)
                throw new FormatException("payload must be embedded");

            var map = CborMap.Decode(content);
            map.RequireOnly("v", "type", "at", "body");
            if (map.UInt("v") != FormatVersion)
                throw new FormatException($"entry format version {map.UInt("v")} is not supported");
            var at = map.Int("at");
            var body = map.Map("body");
            var entry = map.Text("type") switch
            {
                nameof(EntryKind.DeviceRegistered) => new LedgerEntry(EntryKind.DeviceRegistered, author, at, encoded, message, ReadDevice(body), null),
                nameof(EntryKind.CertificateIssued) => new LedgerEntry(EntryKind.CertificateIssued, author, at, encoded, message, null, ReadCertificate(body)),
                var other => throw new FormatException($"unknown entry type '{other}'"),
            };
            return Result<LedgerEntry>.Ok(entry);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or CborContentException or System.Text.DecoderFallbackException)
        {
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, e.Message);
        }
    }

    private static byte[] Sign(EntryKind kind, string authorId, ECDsa key, long at, Action<CborWriter> writeBody)
    {
        ArgumentNullException.ThrowIfNull(key);
        // The bodies are written as maps of unstated length; the writer must turn them into definite-length
        // maps (deterministic encoding has no indefinite lengths), or Ctap2Canonical refuses them outright.
        var w = new CborWriter(CborConformanceMode.Ctap2Canonical);
        w.WriteStartMap(4);
        w.WriteTextString("v");
        w.WriteInt32(FormatVersion);
        w.WriteTextString("at");
        w.WriteInt64(at);
        w.WriteTextString("body");
        writeBody(w);
        w.WriteTextString("type");
        w.WriteTextString(kind.ToString());
        w.WriteEndMap();

        return CoseEs256.Sign(w.Encode(), authorId, key, ContentType);
    }

    private static void WriteDevice(CborWriter w, DeviceInfo d)
    {
        // The canonical writer sorts keys itself; the order here is for the reader of this code.
        // Deterministic CBOR has no indefinite lengths, so each map states its entry count.
        w.WriteStartMap(10);
        w.WriteTextString("meter");
        w.WriteTextString(d.MeterId);
        w.WriteTextString("publicKey");
        w.WriteByteString(d.PublicKey);
        w.WriteTextString("direction");
        w.WriteTextString(WireCodes.Of(d.Direction));
        w.WriteTextString("source");
        w.WriteTextString(d.EnergySource);
        w.WriteTextString("technology");
        w.WriteTextString(d.Technology);
        w.WriteTextString("capacityW");
        w.WriteInt64(d.CapacityW);
        w.WriteTextString("zone");
        w.WriteTextString(d.GridZone);
        w.WriteTextString("country");
        w.WriteTextString(d.Country);
        w.WriteTextString("latE6");
        w.WriteInt32(d.LatitudeMicrodegrees);
        w.WriteTextString("lonE6");
        w.WriteInt32(d.LongitudeMicrodegrees);
        w.WriteEndMap();
    }

    private static DeviceInfo ReadDevice(CborMap m)
    {
        m.RequireOnly("meter", "publicKey", "direction", "source", "technology", "capacityW", "zone", "country", "latE6", "lonE6");
        var meter = m.Text("meter");
        if (!MeterId.IsValid(meter))
            throw new FormatException($"invalid meter id '{meter}'");
        if (!WireCodes.TryParseDirection(m.Text("direction"), out var direction))
            throw new FormatException($"direction must be 'gen' or 'con', not '{m.Text("direction")}'");
        return new DeviceInfo(meter, m.Bytes("publicKey"), direction, m.Text("source"), m.Text("technology"), m.Int("capacityW"), m.Text("zone"), m.Text("country"), m.Int32("latE6"), m.Int32("lonE6"));
    }

    private static void WriteCertificate(CborWriter w, GranularCertificate c)
    {
        w.WriteStartMap(17);
        w.WriteTextString("id");
        w.WriteByteString(c.Id);
        w.WriteTextString("meter");
        w.WriteTextString(c.MeterId);
        w.WriteTextString("periodStart");
        w.WriteInt64(c.PeriodStart);
        w.WriteTextString("periodEnd");
        w.WriteInt64(c.PeriodEnd);
        w.WriteTextString("part");
        w.WriteInt32(c.Part);
        w.WriteTextString("wh");
        w.WriteUInt64(c.FaceValueWh);
        w.WriteTextString("carrier");
        w.WriteTextString(c.EnergyCarrier);
        w.WriteTextString("source");
        w.WriteTextString(c.EnergySource);
        w.WriteTextString("technology");
        w.WriteTextString(c.Technology);
        w.WriteTextString("zone");
        w.WriteTextString(c.GridZone);
        w.WriteTextString("country");
        w.WriteTextString(c.Country);
        w.WriteTextString("issuingBody");
        w.WriteTextString(c.IssuingBody);
        w.WriteTextString("issuedAt");
        w.WriteInt64(c.IssuedAt);
        w.WriteTextString("expiresAt");
        w.WriteInt64(c.ExpiresAt);
        w.WriteTextString("readingCount");
        w.WriteInt32(c.ReadingCount);
        w.WriteTextString("readingRoot");
        w.WriteByteString(c.ReadingRoot);
        w.WriteTextString("quality");
        w.WriteStartMap(4);
        w.WriteTextString("measured");
        w.WriteInt32(c.Quality.MeasuredCount);
        w.WriteTextString("estimated");
        w.WriteInt32(c.Quality.EstimatedCount);
        w.WriteTextString("measuredWh");
        w.WriteUInt64(c.Quality.MeasuredWh);
        w.WriteTextString("estimatedWh");
        w.WriteUInt64(c.Quality.EstimatedWh);
        w.WriteEndMap();
        w.WriteEndMap();
    }

    private static GranularCertificate ReadCertificate(CborMap m)
    {
        m.RequireOnly("id", "meter", "periodStart", "periodEnd", "part", "wh", "carrier", "source", "technology", "zone", "country", "issuingBody", "issuedAt", "expiresAt", "readingCount", "readingRoot", "quality");
        var q = m.Map("quality");
        q.RequireOnly("measured", "estimated", "measuredWh", "estimatedWh");
        return new GranularCertificate(
            m.Bytes("id", 32), m.Text("meter"), m.Int("periodStart"), m.Int("periodEnd"), m.Int32("part"), m.UInt("wh"),
            m.Text("carrier"), m.Text("source"), m.Text("technology"), m.Text("zone"), m.Text("country"), m.Text("issuingBody"),
            m.Int("issuedAt"), m.Int("expiresAt"), m.Int32("readingCount"), m.Bytes("readingRoot", 32),
            new QualitySummary(q.Int32("measured"), q.Int32("estimated"), q.UInt("measuredWh"), q.UInt("estimatedWh")));
    }
}

using System.Collections.Frozen;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Serialization;

namespace GreenTrace.Core.Ledger;

/// <summary>
/// Ledger entries on the wire: a tagged COSE_Sign1 (ES256, kid = issuer id as UTF-8 or, for owner
/// entries, the owner's SPKI; content type <see cref="ContentType"/>) whose payload is a
/// deterministic CBOR map <c>{"v": 1, "type": kind, "at": unix seconds, "body": {...}}</c>.
/// Membership changes are a tagged COSE_Sign with the same payload and one ES256 signature per node.
/// </summary>
public static class LedgerEntryCodec
{
    public const string ContentType = "application/greentrace-entry+cbor";
    public const int FormatVersion = 1;

    /// <summary>The author id of a membership change: it is signed by a quorum of nodes, not one author.</summary>
    public const string MembershipAuthor = "nodes";

    /// <summary>Most parts a split may make: enough for any real portfolio, few enough to bound a node's work per entry.</summary>
    public const int MaxSplitParts = 256;

    internal static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, true);

    // Built once: every entry's type is looked up here, on every node, for every entry.
    private static readonly FrozenDictionary<string, EntryKind> KindsByName =
        Enum.GetValues<EntryKind>().ToFrozenDictionary(k => k.ToString(), StringComparer.Ordinal);

    /// <param name="owner">SPKI of the plant owner's P-256 key; the meter's certificates start in their hands (else the issuer's).</param>
    public static byte[] SignDeviceRegistered(DeviceInfo device, string issuerId, ECDsa issuerKey, long registeredAt, byte[]? owner = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Sign(EntryKind.DeviceRegistered, issuerId, issuerKey, registeredAt, w => WriteDevice(w, device, owner));
    }

    public static byte[] SignCertificateIssued(GranularCertificate certificate, string issuerId, ECDsa issuerKey)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Sign(EntryKind.CertificateIssued, issuerId, issuerKey, certificate.IssuedAt, w => WriteCertificate(w, certificate));
    }

    public static byte[] SignDeviceKeyRotated(DeviceKeyRotation rotation, string issuerId, ECDsa issuerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(rotation);
        return Sign(EntryKind.DeviceKeyRotated, issuerId, issuerKey, at, w =>
        {
            w.WriteStartMap(3);
            w.WriteTextString("meter");
            w.WriteTextString(rotation.MeterId);
            w.WriteTextString("publicKey");
            w.WriteByteString(rotation.PublicKey);
            w.WriteTextString("from");
            w.WriteInt64(rotation.From);
            w.WriteEndMap();
        });
    }

    public static byte[] SignDeviceRevoked(DeviceRevocation revocation, string issuerId, ECDsa issuerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(revocation);
        return Sign(EntryKind.DeviceRevoked, issuerId, issuerKey, at, w =>
        {
            w.WriteStartMap(3);
            w.WriteTextString("meter");
            w.WriteTextString(revocation.MeterId);
            w.WriteTextString("from");
            w.WriteInt64(revocation.From);
            w.WriteTextString("reason");
            w.WriteTextString(revocation.Reason);
            w.WriteEndMap();
        });
    }

    public static byte[] SignWithdrawn(Withdrawal withdrawal, string issuerId, ECDsa issuerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(withdrawal);
        return Sign(EntryKind.Withdrawn, issuerId, issuerKey, at, w =>
        {
            w.WriteStartMap(2);
            w.WriteTextString("certificate");
            w.WriteByteString(withdrawal.CertificateId);
            w.WriteTextString("reason");
            w.WriteTextString(withdrawal.Reason);
            w.WriteEndMap();
        });
    }

    /// <summary>Signed by the holding's owner; the kid is the owner's SPKI so anyone can check it without ledger state.</summary>
    public static byte[] SignTransferred(Transfer transfer, ECDsa ownerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(transfer);
        return SignAsOwner(EntryKind.Transferred, ownerKey, at, w =>
        {
            w.WriteStartMap(3);
            w.WriteTextString("certificate");
            w.WriteByteString(transfer.CertificateId);
            w.WriteTextString("holding");
            w.WriteByteString(transfer.HoldingId);
            w.WriteTextString("to");
            w.WriteByteString(transfer.To);
            w.WriteEndMap();
        });
    }

    public static byte[] SignSplit(Split split, ECDsa ownerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(split);
        return SignAsOwner(EntryKind.Split, ownerKey, at, w =>
        {
            w.WriteStartMap(3);
            w.WriteTextString("certificate");
            w.WriteByteString(split.CertificateId);
            w.WriteTextString("holding");
            w.WriteByteString(split.HoldingId);
            w.WriteTextString("parts");
            w.WriteStartArray(split.Parts.Count);
            foreach (var part in split.Parts)
            {
                w.WriteStartMap(2);
                w.WriteTextString("wh");
                w.WriteUInt64(part.Wh);
                w.WriteTextString("owner");
                w.WriteByteString(part.Owner);
                w.WriteEndMap();
            }
            w.WriteEndArray();
            w.WriteEndMap();
        });
    }

    public static byte[] SignClaimed(Claim claim, ECDsa ownerKey, long at)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return SignAsOwner(EntryKind.Claimed, ownerKey, at, w =>
        {
            w.WriteStartMap(5);
            w.WriteTextString("certificate");
            w.WriteByteString(claim.CertificateId);
            w.WriteTextString("holding");
            w.WriteByteString(claim.HoldingId);
            w.WriteTextString("beneficiary");
            w.WriteTextString(claim.Beneficiary);
            w.WriteTextString("periodStart");
            w.WriteInt64(claim.PeriodStart);
            w.WriteTextString("periodEnd");
            w.WriteInt64(claim.PeriodEnd);
            w.WriteEndMap();
        });
    }

    /// <summary>
    /// A membership change as a tagged COSE_Sign (RFC 9052 §4.1): the payload once, one ES256
    /// signature per node (kid = node name, protected). Nodes may sign in turn with <see cref="AddNodeSignature"/>.
    /// </summary>
    public static byte[] SignMembershipChanged(Membership next, Membership current, long at, IReadOnlyList<(string NodeName, ECDsa Key)> signers)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(signers);
        if (signers.Count == 0)
            throw new ArgumentException("a membership change needs at least one signer", nameof(signers));
        next.Validate();
        var payload = Payload(EntryKind.MembershipChanged, at, w =>
        {
            w.WriteStartMap(2);
            w.WriteTextString("membership");
            w.WriteByteString(next.ToCanonicalJson());
            w.WriteTextString("previous");
            w.WriteByteString(current.Digest());
            w.WriteEndMap();
        });
        var bodyHeaders = new CoseHeaderMap { [CoseHeaderLabel.ContentType] = CoseHeaderValue.FromString(ContentType) };
        var message = CoseMultiSignMessage.SignEmbedded(payload, NodeSigner(signers[0]), bodyHeaders);
        var decoded = CoseMessage.DecodeMultiSign(message);
        for (var i = 1; i < signers.Count; i++)
            decoded.AddSignatureForEmbedded(NodeSigner(signers[i]));
        return decoded.Encode();
    }

    /// <summary>Adds one more node signature to an encoded membership change (each node signs on its own machine).</summary>
    public static byte[] AddNodeSignature(byte[] encodedMembershipChange, string nodeName, ECDsa nodeKey)
    {
        var message = CoseMessage.DecodeMultiSign(encodedMembershipChange);
        message.AddSignatureForEmbedded(NodeSigner((nodeName, nodeKey)));
        return message.Encode();
    }

    private static CoseSigner NodeSigner((string NodeName, ECDsa Key) signer) =>
        new(signer.Key ?? throw new ArgumentException("node key is null"), HashAlgorithmName.SHA256, new CoseHeaderMap
        {
            [CoseHeaderLabel.Algorithm] = CoseEs256.Es256Alg,
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(System.Text.Encoding.UTF8.GetBytes(signer.NodeName)),
        });

    public static Result<LedgerEntry> Decode(ReadOnlyMemory<byte> encoded)
    {
        if (encoded.Length >= 2 && encoded.Span[0] == 0xD8 && encoded.Span[1] == 0x62)
            return DecodeMultiSign(encoded);
        if (encoded.IsEmpty || encoded.Span[0] != 0xD2)
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, "an entry is a tagged COSE_Sign1 message (or COSE_Sign for a membership change)");
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
            if (message.Content is not { } content)
                throw new FormatException("payload must be embedded");

            var (kind, at, body) = ReadPayload(content);
            var kidBytes = kid.GetValueAsBytes();
            if (LedgerEntry.AuthorityOf(kind) == EntryAuthority.Owner)
            {
                // The kid is the signer's SPKI, checked here so a bad key is malformed input, not a crash later.
                if (!PublicKeyCache.IsValid(kidBytes))
                    throw new FormatException("an owner entry's kid must be the owner's P-256 SubjectPublicKeyInfo");
                object ownerBody = kind switch
                {
                    EntryKind.Transferred => ReadTransfer(body),
                    EntryKind.Split => ReadSplit(body),
                    _ => ReadClaim(body),
                };
                return Result<LedgerEntry>.Ok(new LedgerEntry(kind, LedgerEntry.OwnerId(kidBytes), at, encoded, message, ownerBody, kidBytes));
            }
            if (kind == EntryKind.MembershipChanged)
                throw new FormatException("a membership change must be a COSE_Sign message signed by the nodes");

            var author = StrictUtf8.GetString(kidBytes);
            var entry = kind switch
            {
                EntryKind.DeviceRegistered => ReadDeviceEntry(author, at, encoded, message, body),
                EntryKind.CertificateIssued => new LedgerEntry(kind, author, at, encoded, message, ReadCertificate(body)),
                EntryKind.DeviceKeyRotated => new LedgerEntry(kind, author, at, encoded, message, ReadRotation(body)),
                EntryKind.DeviceRevoked => new LedgerEntry(kind, author, at, encoded, message, ReadRevocation(body)),
                _ => new LedgerEntry(kind, author, at, encoded, message, ReadWithdrawal(body)),
            };
            return Result<LedgerEntry>.Ok(entry);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or CborContentException or System.Text.DecoderFallbackException)
        {
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, e.Message);
        }
    }

    private static Result<LedgerEntry> DecodeMultiSign(ReadOnlyMemory<byte> encoded)
    {
        CoseMultiSignMessage message;
        try
        {
            message = CoseMessage.DecodeMultiSign(encoded.Span);
        }
        catch (Exception e) when (e is CryptographicException or OverflowException)
        {
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, $"not a COSE_Sign message: {e.Message}");
        }
        try
        {
            if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.ContentType, out var ct) || ct.GetValueAsString() != ContentType)
                throw new FormatException($"protected content type must be '{ContentType}'");
            if (message.Content is not { } content)
                throw new FormatException("payload must be embedded");
            if (message.Signatures.Count == 0)
                throw new FormatException("a membership change carries no signature");
            foreach (var s in message.Signatures)
            {
                if (!CoseEs256.HasProtectedEs256(s.ProtectedHeaders))
                    throw new FormatException("every node signature must set alg to ES256 in its protected header");
                if (!s.ProtectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out var kid))
                    throw new FormatException("every node signature must carry the node name as protected kid");
                _ = StrictUtf8.GetString(kid.GetValueAsBytes());
            }
            var (kind, at, body) = ReadPayload(content);
            if (kind != EntryKind.MembershipChanged)
                throw new FormatException($"a COSE_Sign entry must be a membership change, not {kind}");
            body.RequireOnly("membership", "previous");
            var document = body.Bytes("membership");
            var previous = body.Bytes("previous", 32);
            Membership membership;
            try
            {
                membership = Membership.FromJson(StrictUtf8.GetString(document));
            }
            catch (FormatException e)
            {
                throw new FormatException($"the new membership is invalid: {e.Message}", e);
            }
            if (!membership.ToCanonicalJson().AsSpan().SequenceEqual(document))
                throw new FormatException("the new membership is not in canonical JSON form");
            return Result<LedgerEntry>.Ok(new LedgerEntry(kind, MembershipAuthor, at, encoded, message, new MembershipChange(membership, document, previous)));
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or CborContentException or System.Text.DecoderFallbackException)
        {
            return Result<LedgerEntry>.Fail(LedgerReasons.EntryMalformed, e.Message);
        }
    }

    private static (EntryKind Kind, long At, CborMap Body) ReadPayload(ReadOnlyMemory<byte> content)
    {
        var map = CborMap.Decode(content);
        map.RequireOnly("v", "type", "at", "body");
        if (map.UInt("v") != FormatVersion)
            throw new FormatException($"entry format version {map.UInt("v")} is not supported");
        var at = map.Int("at");
        var body = map.Map("body");
        var type = map.Text("type");
        // Enum.TryParse would take "1" or " Split"; only the exact member names are entry types.
        if (!KindsByName.TryGetValue(type, out var kind))
            throw new FormatException($"unknown entry type '{type}'");
        return (kind, at, body);
    }

    private static byte[] Payload(EntryKind kind, long at, Action<CborWriter> writeBody)
    {
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
        return w.Encode();
    }

    private static byte[] Sign(EntryKind kind, string authorId, ECDsa key, long at, Action<CborWriter> writeBody)
    {
        ArgumentNullException.ThrowIfNull(key);
        return CoseEs256.Sign(Payload(kind, at, writeBody), authorId, key, ContentType);
    }

    private static byte[] SignAsOwner(EntryKind kind, ECDsa ownerKey, long at, Action<CborWriter> writeBody)
    {
        ArgumentNullException.ThrowIfNull(ownerKey);
        return CoseEs256.Sign(Payload(kind, at, writeBody), ownerKey.ExportSubjectPublicKeyInfo(), ownerKey, ContentType);
    }

    private static LedgerEntry ReadDeviceEntry(string author, long at, ReadOnlyMemory<byte> encoded, CoseSign1Message message, CborMap body)
    {
        byte[]? owner = null;
        if (body.Keys.Contains("owner"))
            owner = body.Bytes("owner");
        return new LedgerEntry(EntryKind.DeviceRegistered, author, at, encoded, message, ReadDevice(body)) { DeviceOwner = owner };
    }

    private static DeviceKeyRotation ReadRotation(CborMap m)
    {
        m.RequireOnly("meter", "publicKey", "from");
        return new DeviceKeyRotation(ReadMeter(m), m.Bytes("publicKey"), m.Int("from"));
    }

    private static DeviceRevocation ReadRevocation(CborMap m)
    {
        m.RequireOnly("meter", "from", "reason");
        return new DeviceRevocation(ReadMeter(m), m.Int("from"), m.Text("reason"));
    }

    private static Withdrawal ReadWithdrawal(CborMap m)
    {
        m.RequireOnly("certificate", "reason");
        return new Withdrawal(m.Bytes("certificate", 32), m.Text("reason"));
    }

    private static Transfer ReadTransfer(CborMap m)
    {
        m.RequireOnly("certificate", "holding", "to");
        return new Transfer(m.Bytes("certificate", 32), m.Bytes("holding", 32), m.Bytes("to"));
    }

    private static Split ReadSplit(CborMap m)
    {
        m.RequireOnly("certificate", "holding", "parts");
        var parts = m.Maps("parts");
        if (parts.Count > MaxSplitParts)
            throw new FormatException($"a split makes at most {MaxSplitParts} parts, not {parts.Count}");
        var list = new List<SplitPart>(parts.Count);
        foreach (var p in parts)
        {
            p.RequireOnly("wh", "owner");
            list.Add(new SplitPart(p.UInt("wh"), p.Bytes("owner")));
        }
        return new Split(m.Bytes("certificate", 32), m.Bytes("holding", 32), list);
    }

    private static Claim ReadClaim(CborMap m)
    {
        m.RequireOnly("certificate", "holding", "beneficiary", "periodStart", "periodEnd");
        return new Claim(m.Bytes("certificate", 32), m.Bytes("holding", 32), m.Text("beneficiary"), m.Int("periodStart"), m.Int("periodEnd"));
    }

    private static string ReadMeter(CborMap m)
    {
        var meter = m.Text("meter");
        if (!MeterId.IsValid(meter))
            throw new FormatException($"invalid meter id '{meter}'");
        return meter;
    }

    private static void WriteDevice(CborWriter w, DeviceInfo d, byte[]? owner)
    {
        // The canonical writer sorts keys itself; the order here is for the reader of this code.
        // Deterministic CBOR has no indefinite lengths, so each map states its entry count.
        w.WriteStartMap(owner is null ? 10 : 11);
        if (owner is not null)
        {
            w.WriteTextString("owner");
            w.WriteByteString(owner);
        }
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
        m.RequireOnly("meter", "publicKey", "direction", "source", "technology", "capacityW", "zone", "country", "latE6", "lonE6", "owner");
        var meter = ReadMeter(m);
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

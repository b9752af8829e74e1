using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Text;

namespace GreenTrace.Core.Readings;

/// <summary>A reading that decoded cleanly, with the exact bytes it came in (they are the Merkle leaf).</summary>
public sealed class DecodedReading
{
    internal DecodedReading(Reading reading, CoseSign1Message message, ReadOnlyMemory<byte> encoded)
    {
        Reading = reading;
        Message = message;
        Encoded = encoded;
    }

    public Reading Reading { get; }

    /// <summary>The raw COSE_Sign1 bytes, exactly as signed.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    internal CoseSign1Message Message { get; }

    /// <summary>Checks the meter's ES256 signature over the reading.</summary>
    public Rejection? VerifySignature(ECDsa meterKey)
    {
        ArgumentNullException.ThrowIfNull(meterKey);
        // ES256 is ECDSA on P-256. A key on another curve does not make VerifyEmbedded throw, it only
        // fails to verify, which would blame the meter (signature-invalid) for a registry error.
        if (meterKey.KeySize != 256)
            return new Rejection(ReadingReasons.KeyInvalid, $"meter key is a {meterKey.KeySize}-bit EC key; ES256 needs P-256");
        try
        {
            return Message.VerifyEmbedded(meterKey)
                ? null
                : new Rejection(ReadingReasons.SignatureInvalid, $"signature does not verify with the key registered for meter '{Reading.MeterId}'");
        }
        catch (CryptographicException e)
        {
            return new Rejection(ReadingReasons.KeyInvalid, $"meter key cannot verify ES256: {e.Message}");
        }
    }
}

/// <summary>
/// The reading wire format (DESIGN.md): a tagged COSE_Sign1, ES256, kid = meter id, payload a
/// deterministically encoded CBOR map. Decoding is strict because third-party firmware must
/// produce exactly this, and anything lenient here becomes an ambiguity an attacker can use.
/// </summary>
public static class ReadingCodec
{
    private const int CoseSign1Tag = 18;
    private const byte CoseSign1TagByte = 0xD2; // major type 6, value 18, in one byte
    private static readonly CoseHeaderValue Es256 = CoseHeaderValue.FromInt32(-7);

    private static readonly string[] RequiredKeys = ["v", "m", "seq", "start", "end", "wh", "reg", "dir", "q"];

    public static byte[] EncodePayload(Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (!MeterId.IsValid(reading.MeterId))
            throw new ArgumentException($"invalid meter id '{reading.MeterId}'", nameof(reading));
        if (reading.Start < 0 || reading.End < 0)
            throw new ArgumentException("interval times must be non-negative Unix seconds", nameof(reading));

        // Ctap2Canonical is RFC 8949 §4.2.1 core deterministic encoding (keys sorted bytewise by their encoding).
        var w = new CborWriter(CborConformanceMode.Ctap2Canonical);
        w.WriteStartMap(RequiredKeys.Length);
        w.WriteTextString("m");
        w.WriteTextString(reading.MeterId);
        w.WriteTextString("q");
        w.WriteTextString(WireCodes.Of(reading.Quality));
        w.WriteTextString("v");
        w.WriteUInt32(Reading.FormatVersion);
        w.WriteTextString("wh");
        w.WriteUInt64(reading.EnergyWh);
        w.WriteTextString("dir");
        w.WriteTextString(WireCodes.Of(reading.Direction));
        w.WriteTextString("end");
        w.WriteUInt64((ulong)reading.End);
        w.WriteTextString("reg");
        w.WriteUInt64(reading.RegisterWh);
        w.WriteTextString("seq");
        w.WriteUInt64(reading.Sequence);
        w.WriteTextString("start");
        w.WriteUInt64((ulong)reading.Start);
        w.WriteEndMap();
        return w.Encode();
    }

    /// <summary>Signs a reading as a meter does: tagged COSE_Sign1, ES256, kid in the protected header.</summary>
    public static byte[] Sign(Reading reading, ECDsa meterKey)
    {
        ArgumentNullException.ThrowIfNull(meterKey);
        return SignPayload(EncodePayload(reading), reading.MeterId, meterKey);
    }

    /// <summary>Signs an arbitrary payload with the reading envelope; the fault injector and tests use it to build hostile readings.</summary>
    public static byte[] SignPayload(byte[] payload, string kid, ECDsa key)
    {
        var protectedHeaders = new CoseHeaderMap
        {
            [CoseHeaderLabel.Algorithm] = Es256,
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(Encoding.UTF8.GetBytes(kid)),
        };
        var signer = new CoseSigner(key, HashAlgorithmName.SHA256, protectedHeaders);
        return CoseSign1Message.SignEmbedded(payload, signer);
    }

    /// <summary>Decodes and checks the format of a reading; the signature is checked separately, once the meter's key is known.</summary>
    public static Result<DecodedReading> Decode(ReadOnlyMemory<byte> encoded)
    {
        var span = encoded.Span;
        if (span.IsEmpty)
            return Result<DecodedReading>.Fail(ReadingReasons.CoseMalformed, "empty message");

        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(span);
        }
        catch (Exception e) when (e is CryptographicException or OverflowException)
        {
            // .NET's decoder throws OverflowException, not CryptographicException, for a header label outside Int32.
            return Result<DecodedReading>.Fail(ReadingReasons.CoseMalformed, $"not a COSE_Sign1 message: {e.Message}");
        }
        if (span[0] != CoseSign1TagByte)
            return Result<DecodedReading>.Fail(ReadingReasons.CoseUntagged, $"COSE_Sign1 must carry CBOR tag {CoseSign1Tag}");

        if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.Algorithm, out var alg) || !alg.EncodedValue.Span.SequenceEqual(Es256.EncodedValue.Span))
            return Result<DecodedReading>.Fail(ReadingReasons.CoseAlgorithm, "protected header must set alg to ES256 (-7)");
        // Only what the format names may ride along: anything else (crit, counter signatures, padding)
        // would be unsigned or not understood, and would give one reading many byte forms.
        foreach (var (label, _) in message.ProtectedHeaders)
        {
            if (!label.Equals(CoseHeaderLabel.Algorithm) && !label.Equals(CoseHeaderLabel.KeyIdentifier) && !label.Equals(CoseHeaderLabel.ContentType))
                return Result<DecodedReading>.Fail(ReadingReasons.CoseHeaderUnexpected, "protected header may hold only alg, kid and content type");
        }
        foreach (var (label, _) in message.UnprotectedHeaders)
        {
            if (!label.Equals(CoseHeaderLabel.KeyIdentifier))
                return Result<DecodedReading>.Fail(label.Equals(CoseHeaderLabel.Algorithm) ? ReadingReasons.CoseAlgorithm : ReadingReasons.CoseHeaderUnexpected, "unprotected header may hold only kid");
        }

        var kidResult = ReadKid(message);
        if (!kidResult.IsOk)
            return kidResult.Error;

        if (message.Content is not { } content)
            return Result<DecodedReading>.Fail(ReadingReasons.CosePayloadDetached, "payload must be embedded");

        var payload = DecodePayload(content);
        if (!payload.IsOk)
            return payload.Error;
        if (!string.Equals(payload.Value.MeterId, kidResult.Value, StringComparison.Ordinal))
            return Result<DecodedReading>.Fail(ReadingReasons.KidMismatch, $"kid '{kidResult.Value}' differs from payload meter '{payload.Value.MeterId}'");

        return Result<DecodedReading>.Ok(new DecodedReading(payload.Value, message, encoded));
    }

    /// <summary>Decode, then verify the signature with the meter's key.</summary>
    public static Result<DecodedReading> DecodeAndVerify(ReadOnlyMemory<byte> encoded, ECDsa meterKey)
    {
        var decoded = Decode(encoded);
        if (!decoded.IsOk)
            return decoded;
        var bad = decoded.Value.VerifySignature(meterKey);
        return bad is null ? decoded : bad;
    }

    private static Result<string> ReadKid(CoseSign1Message message)
    {
        // .NET's decoder already refuses a label present in both buckets, so kid sits in at most one.
        byte[]? kid = null;
        if (message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out var p))
            kid = TryGetBytes(p);
        else if (message.UnprotectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out var u))
            kid = TryGetBytes(u);
        if (kid is null || kid.Length == 0)
            return Result<string>.Fail(ReadingReasons.CoseKidMissing, "kid (label 4) must hold the meter id as a byte string");
        string id;
        try
        {
            id = new UTF8Encoding(false, true).GetString(kid);
        }
        catch (DecoderFallbackException)
        {
            return Result<string>.Fail(ReadingReasons.MeterIdInvalid, "kid is not UTF-8");
        }
        if (!MeterId.IsValid(id))
            return Result<string>.Fail(ReadingReasons.MeterIdInvalid, "kid is not a valid meter id (1-64 of A-Za-z0-9._-)");
        return Result<string>.Ok(id);
    }

    private static byte[]? TryGetBytes(CoseHeaderValue value)
    {
        try
        {
            return value.GetValueAsBytes();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Strict payload decoding: every failure its own reason code.</summary>
    public static Result<Reading> DecodePayload(ReadOnlyMemory<byte> payload)
    {
        // Well-formedness first, so that "not CBOR at all" and "CBOR, but not in deterministic form" stay distinct.
        try
        {
            var lax = new CborReader(payload, CborConformanceMode.Lax);
            lax.SkipValue();
            if (lax.BytesRemaining != 0)
                return Result<Reading>.Fail(ReadingReasons.PayloadMalformed, "trailing bytes after the payload map");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException)
        {
            return Result<Reading>.Fail(ReadingReasons.PayloadMalformed, $"payload is not well-formed CBOR: {e.Message}");
        }

        var fields = new Dictionary<string, object>(RequiredKeys.Length, StringComparer.Ordinal);
        string? unknownKey = null;
        try
        {
            var r = new CborReader(payload, CborConformanceMode.Ctap2Canonical);
            if (r.PeekState() != CborReaderState.StartMap)
                return Result<Reading>.Fail(ReadingReasons.PayloadNotMap, "payload must be a CBOR map");
            r.ReadStartMap();
            while (r.PeekState() != CborReaderState.EndMap)
            {
                if (r.PeekState() != CborReaderState.TextString)
                    return Result<Reading>.Fail(ReadingReasons.PayloadWrongType, "payload map keys must be text strings");
                var key = r.ReadTextString();
                if (Array.IndexOf(RequiredKeys, key) < 0)
                    unknownKey ??= key;
                switch (r.PeekState())
                {
                    case CborReaderState.UnsignedInteger:
                        fields[key] = r.ReadUInt64();
                        break;
                    case CborReaderState.TextString:
                        fields[key] = r.ReadTextString();
                        break;
                    default:
                        fields[key] = r.PeekState();
                        r.SkipValue();
                        break;
                }
            }
            r.ReadEndMap();
        }
        catch (CborContentException e)
        {
            // It parsed leniently above, so this is a conformance failure: unsorted or duplicate keys, non-minimal lengths, indefinite items.
            return Result<Reading>.Fail(ReadingReasons.PayloadNonDeterministic, $"payload is not in deterministic encoding: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or OverflowException)
        {
            return Result<Reading>.Fail(ReadingReasons.PayloadNonDeterministic, $"payload is not in deterministic encoding: {e.Message}");
        }

        // The version decides what the other keys mean, so a later version's new keys are reported as
        // an unsupported version, not as unknown keys.
        if (fields.TryGetValue("v", out var v) && v is ulong version && version != Reading.FormatVersion)
            return Result<Reading>.Fail(ReadingReasons.VersionUnsupported, $"format version {version} is not supported (expected {Reading.FormatVersion})");
        if (unknownKey is not null)
            return Result<Reading>.Fail(ReadingReasons.PayloadUnknownKey, $"unknown payload key '{unknownKey}'");
        foreach (var key in RequiredKeys)
        {
            if (!fields.ContainsKey(key))
                return Result<Reading>.Fail(ReadingReasons.PayloadMissingKey, $"payload key '{key}' is missing");
        }
        if (fields["v"] is not ulong)
            return WrongType("v", "uint");

        if (fields["m"] is not string meter)
            return WrongType("m", "tstr");
        if (fields["seq"] is not ulong seq)
            return WrongType("seq", "uint");
        if (fields["start"] is not ulong start)
            return WrongType("start", "uint");
        if (fields["end"] is not ulong end)
            return WrongType("end", "uint");
        if (fields["wh"] is not ulong wh)
            return WrongType("wh", "uint");
        if (fields["reg"] is not ulong reg)
            return WrongType("reg", "uint");
        if (fields["dir"] is not string dir)
            return WrongType("dir", "tstr");
        if (fields["q"] is not string q)
            return WrongType("q", "tstr");

        if (!MeterId.IsValid(meter))
            return Result<Reading>.Fail(ReadingReasons.MeterIdInvalid, "payload meter id is not 1-64 of A-Za-z0-9._-");
        if (!WireCodes.TryParseDirection(dir, out var direction))
            return Result<Reading>.Fail(ReadingReasons.PayloadBadValue, $"dir must be 'gen' or 'con', not '{dir}'");
        if (!WireCodes.TryParseQuality(q, out var quality))
            return Result<Reading>.Fail(ReadingReasons.PayloadBadValue, $"q must be 'm' or 'e', not '{q}'");
        // Unix seconds beyond year 9999 are not a real interval; bounding them keeps later arithmetic in range.
        const ulong maxTime = 253402300799;
        if (start > maxTime || end > maxTime)
            return Result<Reading>.Fail(ReadingReasons.PayloadBadValue, "interval time is beyond year 9999");

        var interval = ReadingRules.CheckInterval((long)start, (long)end);
        if (interval is not null)
            return interval;

        return Result<Reading>.Ok(new Reading(meter, seq, (long)start, (long)end, wh, reg, direction, quality));

        static Result<Reading> WrongType(string key, string expected) =>
            Result<Reading>.Fail(ReadingReasons.PayloadWrongType, $"payload key '{key}' must be a {expected}");
    }
}

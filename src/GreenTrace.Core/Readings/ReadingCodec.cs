using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Text;
using GreenTrace.Core.Serialization;

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

    private static readonly string[] RequiredKeys = ["v", "m", "seq", "start", "end", "wh", "reg", "dir", "q"];

    // Indexes into RequiredKeys.
    private const int SlotV = 0, SlotM = 1, SlotSeq = 2, SlotStart = 3, SlotEnd = 4, SlotWh = 5, SlotReg = 6, SlotDir = 7, SlotQ = 8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private enum FieldKind : byte
    {
        Missing,
        UInt,
        Text,
        Other,
    }

    /// <summary>Index of <paramref name="key"/> in <see cref="RequiredKeys"/> (ordinal), or -1.</summary>
    private static int KeySlot(string key) => key switch
    {
        "v" => SlotV,
        "m" => SlotM,
        "seq" => SlotSeq,
        "start" => SlotStart,
        "end" => SlotEnd,
        "wh" => SlotWh,
        "reg" => SlotReg,
        "dir" => SlotDir,
        "q" => SlotQ,
        _ => -1,
    };

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
    public static byte[] SignPayload(byte[] payload, string kid, ECDsa key) => CoseEs256.Sign(payload, kid, key);

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
        // DecodeSign1 lets some malformed input escape as other exceptions: an oversized integer header label throws
        // OverflowException (dotnet/runtime#126036), and older builds threw ArgumentException from the same place.
        catch (Exception e) when (e is CryptographicException or OverflowException or ArgumentException)
        {
            return Result<DecodedReading>.Fail(ReadingReasons.CoseMalformed, $"not a COSE_Sign1 message: {e.Message}");
        }
        if (span[0] != CoseSign1TagByte)
            return Result<DecodedReading>.Fail(ReadingReasons.CoseUntagged, $"COSE_Sign1 must carry CBOR tag {CoseSign1Tag}");

        if (!CoseEs256.HasProtectedEs256(message))
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
            id = StrictUtf8.GetString(kid);
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
        // One slot per required key, in RequiredKeys order: no dictionary, no boxing.
        Span<FieldKind> kinds = stackalloc FieldKind[RequiredKeys.Length];
        Span<ulong> numbers = stackalloc ulong[RequiredKeys.Length];
        var canonical = ReadCanonicalFields(payload, kinds, numbers, out var meterText, out var dirText, out var qText, out var unknownKey, out var trailing);

        // Well-formedness takes precedence, so that "not CBOR at all" and "CBOR, but not in deterministic form" stay
        // distinct. The canonical reader accepts nothing the lenient one rejects, so the lenient pass is only needed
        // to classify a failure; a payload the canonical reader read cleanly and completely is well-formed.
        if (canonical is not null || trailing)
        {
            var malformed = CheckWellFormed(payload);
            if (malformed is not null)
                return malformed;
            if (canonical is not null)
                return canonical;
            return Result<Reading>.Fail(ReadingReasons.PayloadMalformed, "trailing bytes after the payload map");
        }

        // The version decides what the other keys mean, so a later version's new or dropped keys are
        // reported as an unsupported version, not as unknown or missing keys.
        if (kinds[SlotV] == FieldKind.UInt && numbers[SlotV] != Reading.FormatVersion)
            return Result<Reading>.Fail(ReadingReasons.VersionUnsupported, $"format version {numbers[SlotV]} is not supported (expected {Reading.FormatVersion})");
        if (unknownKey is not null)
            return Result<Reading>.Fail(ReadingReasons.PayloadUnknownKey, $"unknown payload key '{unknownKey}'");
        for (var slot = 0; slot < RequiredKeys.Length; slot++)
        {
            if (kinds[slot] == FieldKind.Missing)
                return Result<Reading>.Fail(ReadingReasons.PayloadMissingKey, $"payload key '{RequiredKeys[slot]}' is missing");
        }
        if (kinds[SlotV] != FieldKind.UInt)
            return WrongType("v", "uint");

        if (kinds[SlotM] != FieldKind.Text)
            return WrongType("m", "tstr");
        var meter = meterText!;
        if (kinds[SlotSeq] != FieldKind.UInt)
            return WrongType("seq", "uint");
        var seq = numbers[SlotSeq];
        if (kinds[SlotStart] != FieldKind.UInt)
            return WrongType("start", "uint");
        var start = numbers[SlotStart];
        if (kinds[SlotEnd] != FieldKind.UInt)
            return WrongType("end", "uint");
        var end = numbers[SlotEnd];
        if (kinds[SlotWh] != FieldKind.UInt)
            return WrongType("wh", "uint");
        var wh = numbers[SlotWh];
        if (kinds[SlotReg] != FieldKind.UInt)
            return WrongType("reg", "uint");
        var reg = numbers[SlotReg];
        if (kinds[SlotDir] != FieldKind.Text)
            return WrongType("dir", "tstr");
        var dir = dirText!;
        if (kinds[SlotQ] != FieldKind.Text)
            return WrongType("q", "tstr");
        var q = qText!;

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

    private static Rejection? CheckWellFormed(ReadOnlyMemory<byte> payload)
    {
        try
        {
            var lax = new CborReader(payload, CborConformanceMode.Lax);
            lax.SkipValue();
            if (lax.BytesRemaining != 0)
                return new Rejection(ReadingReasons.PayloadMalformed, "trailing bytes after the payload map");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException)
        {
            return new Rejection(ReadingReasons.PayloadMalformed, $"payload is not well-formed CBOR: {e.Message}");
        }
        return null;
    }

    /// <summary>
    /// Reads the payload map in canonical (deterministic) mode into per-key slots. Returns the first failure, or null
    /// with <paramref name="trailing"/> telling whether bytes follow the map and <paramref name="unknownKey"/> the
    /// first key the format does not name.
    /// </summary>
    private static Rejection? ReadCanonicalFields(
        ReadOnlyMemory<byte> payload, Span<FieldKind> kinds, Span<ulong> numbers,
        out string? meterText, out string? dirText, out string? qText, out string? unknownKey, out bool trailing)
    {
        meterText = dirText = qText = unknownKey = null;
        trailing = false;
        try
        {
            var r = new CborReader(payload, CborConformanceMode.Ctap2Canonical);
            if (r.PeekState() != CborReaderState.StartMap)
                return new Rejection(ReadingReasons.PayloadNotMap, "payload must be a CBOR map");
            r.ReadStartMap();
            // PeekState is a pure function of the reader's position: peeking once per item is the same as peeking twice.
            CborReaderState state;
            while ((state = r.PeekState()) != CborReaderState.EndMap)
            {
                if (state != CborReaderState.TextString)
                    return new Rejection(ReadingReasons.PayloadWrongType, "payload map keys must be text strings");
                var key = r.ReadTextString();
                var slot = KeySlot(key);
                if (slot < 0)
                {
                    // Noted, not refused yet: the version decides whether an unknown key is an error or a newer format.
                    unknownKey ??= key;
                    r.SkipValue();
                    continue;
                }
                // A later duplicate would overwrite an earlier slot, but the canonical reader rejects duplicates first.
                switch (r.PeekState())
                {
                    case CborReaderState.UnsignedInteger:
                        numbers[slot] = r.ReadUInt64();
                        kinds[slot] = FieldKind.UInt;
                        break;
                    case CborReaderState.TextString:
                        var text = r.ReadTextString();
                        switch (slot)
                        {
                            case SlotM:
                                meterText = text;
                                break;
                            case SlotDir:
                                dirText = text;
                                break;
                            case SlotQ:
                                qText = text;
                                break;
                        }
                        kinds[slot] = FieldKind.Text;
                        break;
                    default:
                        kinds[slot] = FieldKind.Other;
                        r.SkipValue();
                        break;
                }
            }
            r.ReadEndMap();
            trailing = r.BytesRemaining != 0;
            return null;
        }
        catch (CborContentException e)
        {
            // Unless the lenient pass finds it malformed, this is a conformance failure: unsorted or duplicate keys,
            // non-minimal lengths, indefinite items.
            return new Rejection(ReadingReasons.PayloadNonDeterministic, $"payload is not in deterministic encoding: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or OverflowException)
        {
            return new Rejection(ReadingReasons.PayloadNonDeterministic, $"payload is not in deterministic encoding: {e.Message}");
        }
    }
}

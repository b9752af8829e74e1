// The straightforward decoder ReadingCodec's optimised one grew from (commit db20a5a): a reference it must match
// result for result, reason code for reason code, message for message. Change it only when the format's rules
// change (as for header strictness and version-first, commit after 52fbd07), and then exactly as the rules say.
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Text;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Tests.Readings;

internal static class ReferenceReadingDecoder
{
    private const int CoseSign1Tag = 18;
    private const byte CoseSign1TagByte = 0xD2;
    private static readonly CoseHeaderValue Es256 = CoseHeaderValue.FromInt32(-7);

    private static readonly string[] RequiredKeys = ["v", "m", "seq", "start", "end", "wh", "reg", "dir", "q"];

    /// <summary>Decodes and checks the format of a reading; the signature is checked separately, once the meter's key is known.</summary>
    public static Result<Reading> Decode(ReadOnlyMemory<byte> encoded)
    {
        var span = encoded.Span;
        if (span.IsEmpty)
            return Result<Reading>.Fail(ReadingReasons.CoseMalformed, "empty message");

        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(span);
        }
        catch (Exception e) when (e is CryptographicException or OverflowException or ArgumentException)
        {
            return Result<Reading>.Fail(ReadingReasons.CoseMalformed, $"not a COSE_Sign1 message: {e.Message}");
        }
        if (span[0] != CoseSign1TagByte)
            return Result<Reading>.Fail(ReadingReasons.CoseUntagged, $"COSE_Sign1 must carry CBOR tag {CoseSign1Tag}");

        if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.Algorithm, out var alg) || !alg.EncodedValue.Span.SequenceEqual(Es256.EncodedValue.Span))
            return Result<Reading>.Fail(ReadingReasons.CoseAlgorithm, "protected header must set alg to ES256 (-7)");
        foreach (var (label, _) in message.ProtectedHeaders)
        {
            if (!label.Equals(CoseHeaderLabel.Algorithm) && !label.Equals(CoseHeaderLabel.KeyIdentifier) && !label.Equals(CoseHeaderLabel.ContentType))
                return Result<Reading>.Fail(ReadingReasons.CoseHeaderUnexpected, "protected header may hold only alg, kid and content type");
        }
        foreach (var (label, _) in message.UnprotectedHeaders)
        {
            if (!label.Equals(CoseHeaderLabel.KeyIdentifier))
                return Result<Reading>.Fail(label.Equals(CoseHeaderLabel.Algorithm) ? ReadingReasons.CoseAlgorithm : ReadingReasons.CoseHeaderUnexpected, "unprotected header may hold only kid");
        }

        var kidResult = ReadKid(message);
        if (!kidResult.IsOk)
            return kidResult.Error;

        if (message.Content is not { } content)
            return Result<Reading>.Fail(ReadingReasons.CosePayloadDetached, "payload must be embedded");

        var payload = DecodePayload(content);
        if (!payload.IsOk)
            return payload.Error;
        if (!string.Equals(payload.Value.MeterId, kidResult.Value, StringComparison.Ordinal))
            return Result<Reading>.Fail(ReadingReasons.KidMismatch, $"kid '{kidResult.Value}' differs from payload meter '{payload.Value.MeterId}'");

        return Result<Reading>.Ok(payload.Value);
    }

    private static Result<string> ReadKid(CoseSign1Message message)
    {
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
                {
                    unknownKey ??= key;
                    r.SkipValue();
                    continue;
                }
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
        EnergyDirection direction;
        switch (dir)
        {
            case "gen":
                direction = EnergyDirection.Generation;
                break;
            case "con":
                direction = EnergyDirection.Consumption;
                break;
            default:
                return Result<Reading>.Fail(ReadingReasons.PayloadBadValue, $"dir must be 'gen' or 'con', not '{dir}'");
        }
        ReadingQuality quality;
        switch (q)
        {
            case "m":
                quality = ReadingQuality.Measured;
                break;
            case "e":
                quality = ReadingQuality.Estimated;
                break;
            default:
                return Result<Reading>.Fail(ReadingReasons.PayloadBadValue, $"q must be 'm' or 'e', not '{q}'");
        }
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

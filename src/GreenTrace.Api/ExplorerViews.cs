namespace GreenTrace.Api;

/// <summary>A registered meter: what its registration says, where it is in the log, and its certificates.</summary>
/// <param name="Direction">`gen` or `con`, as in the registration.</param>
/// <param name="RegistrationIndex">Log index of the DeviceRegistered entry.</param>
/// <param name="PublicKey">The registered meter key (SubjectPublicKeyInfo, base64).</param>
/// <param name="Owner">The plant owner's id (owner:hex) when the registration names one; else certificates start with the issuer.</param>
/// <param name="KeyRotations">How many times the meter key was rotated since.</param>
public sealed record MeterView(
    string Meter, string Direction, string Source, string Technology, string Zone, string Country, long CapacityW,
    int LatE6, int LonE6, string RegisteredBy, long RegistrationIndex, string PublicKey, string? Owner, string? OwnerKey,
    int KeyRotations, long? RevokedFrom, string? RevocationReason, IReadOnlyList<CertificateSummary> Certificates);

/// <summary>One UTC hour of a meter: Wh of its archived (certified) readings and Wh of the certificates issued for it.</summary>
/// <param name="Hour">Start of the hour, Unix seconds.</param>
/// <param name="CertificateWh">Face values of every certificate of the hour, all parts summed.</param>
public sealed record MeterHourView(long Hour, ulong ReadingWh, int Readings, ulong CertificateWh, int Certificates);

/// <summary>Every hour of [From, To), in order, with totals.</summary>
/// <param name="Undecodable">Archived readings that no longer decode (left out of the sums): any is a sign of a damaged archive.</param>
public sealed record MeterHourlyView(
    string Meter, long From, long To, IReadOnlyList<MeterHourView> Hours, ulong ReadingWh, ulong CertificateWh, int Undecodable);

/// <summary>One archived reading of a certificate, decoded (not verified: proofs do that), with its exact bytes.</summary>
/// <param name="Index">Leaf index in the certificate's reading tree.</param>
/// <param name="Cose">The signed COSE_Sign1 bytes, base64.</param>
/// <param name="Error">The reason code when the bytes no longer decode; the other fields are then empty.</param>
public sealed record ReadingView(
    int Index, string? Meter, ulong Sequence, long Start, long End, ulong Wh, ulong RegisterWh, string? Direction, string? Quality,
    string Cose, string? Error);

public sealed record CertificateReadingsView(string Certificate, IReadOnlyList<ReadingView> Readings);

/// <param name="Kind">`certificate`, `holding`, `owner` or `meter`.</param>
/// <param name="Certificate">For certificates and holdings, the certificate id.</param>
public sealed record SearchHitView(string Kind, string Id, string? Certificate);

public sealed record SearchView(string Query, IReadOnlyList<SearchHitView> Hits);

public sealed record OwnerHoldingView(string Id, ulong Wh, long CreatedBy, CertificateSummary Certificate);

/// <summary>An owner's live holdings (what they may still transfer, split or claim).</summary>
public sealed record OwnerView(string Owner, string OwnerKey, ulong LiveWh, IReadOnlyList<OwnerHoldingView> Holdings);

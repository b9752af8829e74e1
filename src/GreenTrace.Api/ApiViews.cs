namespace GreenTrace.Api;

/// <summary>One log entry: the exact signed bytes (base64) and what the node indexed it by.</summary>
public sealed record EntryView(long Index, string Id, string Kind, string Author, string? Meter, string? Certificate, string Bytes);

public sealed record EntryPage(long Size, long From, IReadOnlyList<EntryView> Entries);

/// <param name="Note">The signed note exactly as cosigned: verify it with the membership's node keys.</param>
public sealed record CheckpointView(long Size, string Root, string Note, int Signatures);

/// <summary>RFC 9162 §2.1.4 consistency proof between two sizes of the log, hashes in hex.</summary>
public sealed record ConsistencyView(long From, long To, string FromRoot, string ToRoot, IReadOnlyList<string> Proof);

public sealed record CertificateSummary(
    string Id, string Meter, long PeriodStart, long PeriodEnd, int Part, ulong Wh, string Source, string Technology,
    string Zone, string Country, string IssuingBody, long IssuedAt, long ExpiresAt, int ReadingCount, string ReadingRoot, long EntryIndex);

/// <param name="Owner">The owner id ("owner:" + hex SHA-256 of the SPKI).</param>
/// <param name="OwnerKey">The owner's SubjectPublicKeyInfo, base64.</param>
public sealed record HoldingView(string Id, ulong Wh, string Owner, string OwnerKey, string Status, long CreatedBy, long? ConsumedBy);

public sealed record CertificateDetail(
    CertificateSummary Certificate, ulong LiveWh, ulong ClaimedWh, ulong WithdrawnWh, bool Withdrawn,
    IReadOnlyList<HoldingView> Holdings, IReadOnlyList<EntryView> History);

public sealed record SubmittedView(string Id, long Index, string Kind, long CheckpointSize);

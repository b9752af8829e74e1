using System.Security.Cryptography;

namespace GreenTrace.Aggregator;

/// <summary>The issuing body's identity and ES256 key, with which the aggregator signs certificates.</summary>
public sealed record IssuerSigner(string IssuerId, ECDsa Key);
